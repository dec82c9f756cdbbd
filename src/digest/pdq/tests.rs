//! PDQ's filter, grid and turns.

use super::*;

/// A 96 x 64 picture with structure at several scales.
fn picture() -> (Vec<f32>, usize, usize) {
    let (w, h) = (96, 64);
    let mut seed = 7u32;
    let px = (0..w * h)
        .map(|k| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let (x, y) = ((k % w) as f32, (k / w) as f32);
            let blob = if (x - 30.0).hypot(y - 20.0) < 14.0 {
                90.0
            } else {
                0.0
            };
            x * 1.5 + (y * 0.3).sin() * 40.0 + blob + (seed % 16) as f32
        })
        .collect();
    (px, w, h)
}

/// The picture turned, in pixel space.
fn turn(px: &[f32], w: usize, h: usize, t: Turn) -> (Vec<f32>, usize, usize) {
    let swap = matches!(
        t,
        Turn::Rotate90 | Turn::Rotate270 | Turn::Transpose | Turn::AntiTranspose
    );
    let (nw, nh) = if swap { (h, w) } else { (w, h) };
    let mut out = vec![0f32; w * h];
    for y in 0..nh {
        for x in 0..nw {
            // Where new pixel (x, y) comes from.
            let (sx, sy) = match t {
                Turn::Same => (x, y),
                Turn::Rotate90 => (y, h - 1 - x),
                Turn::Rotate180 => (w - 1 - x, h - 1 - y),
                Turn::Rotate270 => (w - 1 - y, x),
                Turn::MirrorLeftRight => (w - 1 - x, y),
                Turn::MirrorTopBottom => (x, h - 1 - y),
                Turn::Transpose => (y, x),
                Turn::AntiTranspose => (w - 1 - y, h - 1 - x),
            };
            out[y * nw + x] = px[sy * w + sx];
        }
    }
    (out, nw, nh)
}

#[test]
fn large_pictures_are_reduced_with_little_change() {
    let (px, w, h) = picture();
    // 16 times larger: 1536 x 1024, reduced by 2.
    let k = 16;
    let big: Vec<f32> = (0..h * k)
        .flat_map(|y| {
            let px = &px;
            (0..w * k).map(move |x| px[(y / k) * w + x / k])
        })
        .collect();
    let direct = hash_full(&mut big.clone(), w * k, h * k);
    let reduced = hash_luma(&mut big.clone(), w * k, h * k);
    assert_eq!((reduced.width, reduced.height), (1536, 1024));
    let d = direct.hash.distance(&reduced.hash);
    assert!(d <= 8, "{d} bits apart");
    assert!(direct.quality.abs_diff(reduced.quality) <= 5);
}

#[test]
fn rows_and_columns_at_once_give_the_box_mean_of_each() {
    let (px, w, h) = picture();
    let columns = std::array::from_fn(|j| j + 7);
    let picked = box_mean_rows_at(&px, w, h, 1, &columns);
    for (r, values) in picked.chunks_exact(GRID).enumerate() {
        for (j, &v) in values.iter().enumerate() {
            assert_eq!(v, px[r * w + j + 7], "a window of one");
        }
    }
    for full in [2, 3, 4, 7, 33, 95, 96, 200] {
        let mut one = px.clone();
        let mut scratch = vec![0f32; h];
        for c in 0..w {
            box_mean(&mut one[c..], w, h, full, &mut scratch);
        }
        let mut all = px.clone();
        box_mean_columns(&mut all, w, h, full);
        assert_eq!(one, all, "window {full}");
        let mut one = px.clone();
        let mut scratch = vec![0f32; w];
        for r in 0..h {
            box_mean(&mut one[r * w..(r + 1) * w], 1, w, full, &mut scratch);
        }
        // 64 rows: eight full groups of LANES (four of PICK_LANES); 61
        // rows: a short last group of each.
        let mut all = px.clone();
        box_mean_rows(&mut all, w, h, full);
        assert_eq!(one, all, "rows, window {full}");
        let mut part = px[..61 * w].to_vec();
        box_mean_rows(&mut part, w, 61, full);
        assert_eq!(one[..61 * w], part[..], "61 rows, window {full}");
        // At some columns only: both ends, and every column but the last
        // twice.
        let columns = std::array::from_fn(|j| if j == GRID - 1 { w - 1 } else { j / 2 * 3 });
        for rows in [h, 61] {
            let picked = box_mean_rows_at(&px[..rows * w], w, rows, full, &columns);
            for (r, means) in picked.chunks_exact(GRID).enumerate() {
                for (&c, &m) in columns.iter().zip(means) {
                    assert_eq!(m, one[r * w + c], "{rows} rows, window {full}, column {c}");
                }
            }
        }
    }
}

#[test]
fn the_grid_is_the_two_passes_over_the_whole_picture_sampled() {
    // Both windows over one, each alone, and sides under 64 (grid rows
    // or columns repeat).
    for (w, h) in [
        (300, 200),
        (257, 129),
        (1008, 756),
        (200, 40),
        (40, 300),
        (129, 1),
    ] {
        let mut seed = 11u32;
        let px: Vec<f32> = (0..w * h)
            .map(|k| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                (k % w) as f32 * 0.7 + (seed % 64) as f32
            })
            .collect();
        let (row_window, col_window) = (window_size(w), window_size(h));
        let mut want = px.clone();
        let mut scratch = vec![0f32; w.max(h)];
        for _ in 0..2 {
            for r in (0..h).filter(|_| row_window > 1) {
                box_mean(
                    &mut want[r * w..(r + 1) * w],
                    1,
                    w,
                    row_window,
                    &mut scratch,
                );
            }
            for c in (0..w).filter(|_| col_window > 1) {
                box_mean(&mut want[c..], w, h, col_window, &mut scratch);
            }
        }
        let got = filtered_grid(&mut px.clone(), w, h);
        for (i, row) in got.iter().enumerate() {
            let r = ((i as f64 + 0.5) * h as f64 / GRID as f64) as usize;
            for (j, v) in row.iter().enumerate() {
                let c = ((j as f64 + 0.5) * w as f64 / GRID as f64) as usize;
                let want = want[r.min(h - 1) * w + c.min(w - 1)];
                assert_eq!(v.to_bits(), want.to_bits(), "{w} x {h}, sample ({i}, {j})");
            }
        }
    }
}

#[test]
fn turned_hashes_are_those_of_the_turned_pictures() {
    let (px, w, h) = picture();
    let original = hash_luma(&mut px.clone(), w, h);
    assert_eq!(original.turned[0], original.hash);
    for (k, t) in Turn::ALL.into_iter().enumerate() {
        let (mut tp, tw, th) = turn(&px, w, h, t);
        let direct = hash_luma(&mut tp, tw, th).hash;
        let d = direct.distance(&original.turned[k]);
        assert!(d <= 8, "{t:?}: {d} bits from the hash computed by turning");
        if t != Turn::Same {
            assert!(direct.distance(&original.hash) > 40, "{t:?} looks unturned");
        }
    }
}
