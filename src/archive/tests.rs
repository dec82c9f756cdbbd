use super::*;

#[test]
fn formats_are_told_by_content() {
    assert_eq!(Format::detect(b"PK\x03\x04rest"), Some(Format::Zip));
    assert_eq!(Format::detect(b"PK\x05\x06"), Some(Format::Zip));
    assert_eq!(
        Format::detect(b"7z\xbc\xaf\x27\x1c\x00\x04"),
        Some(Format::SevenZ)
    );
    assert_eq!(Format::detect(b"\x1f\x8b\x08\x00"), Some(Format::Gzip));
    assert_eq!(Format::detect(b"BZh91AY&SY\x00\x00"), Some(Format::Bzip2));
    // "BZh" alone (a text file that starts so) is not bzip2.
    assert_eq!(Format::detect(b"BZh9 hello there"), None);
    assert_eq!(Format::detect(b"\xfd7zXZ\x00\x00"), Some(Format::Xz));
    assert_eq!(Format::detect(b"\x28\xb5\x2f\xfd\x00"), Some(Format::Zstd));
    assert_eq!(Format::detect(b"Rar!\x1a\x07\x01\x00"), Some(Format::Rar));
    assert_eq!(Format::detect(b"plain text"), None);
    assert_eq!(Format::detect(&[0u8; 1024]), None);
}

/// A v7 tar header (no magic) of a file `name` with a right checksum.
fn v7_header(name: &[u8]) -> Vec<u8> {
    let mut h = vec![0u8; 512];
    h[..name.len()].copy_from_slice(name);
    h[100..108].copy_from_slice(b"0000644\0");
    h[124..136].copy_from_slice(b"00000000005\0");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| b as u32).sum();
    let field = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(field.as_bytes());
    h
}

#[test]
fn tar_is_told_by_magic_or_by_checksum() {
    let mut h = vec![0u8; 512];
    h[..5].copy_from_slice(b"a.txt");
    h[257..262].copy_from_slice(b"ustar");
    assert_eq!(Format::detect(&h), Some(Format::Tar));
    let v7 = v7_header(b"old.txt");
    assert_eq!(Format::detect(&v7), Some(Format::Tar));
    let mut bad = v7.clone();
    bad[0] ^= 1;
    assert_eq!(Format::detect(&bad), None, "a wrong checksum is no tar");
    assert_eq!(Format::detect(&v7[..511]), None, "a header is 512 bytes");
}

#[test]
fn a_stream_member_is_named_after_its_container() {
    let n = |f, s: &str| String::from_utf8(stream_member_name(f, s.as_bytes())).unwrap();
    assert_eq!(n(Format::Gzip, "x.tar.gz"), "x.tar");
    assert_eq!(n(Format::Gzip, "X.TGZ"), "X.tar");
    assert_eq!(n(Format::Gzip, "notes.gz"), "notes");
    assert_eq!(n(Format::Bzip2, "a.tbz2"), "a.tar");
    assert_eq!(n(Format::Xz, "a.tar.xz"), "a.tar");
    assert_eq!(n(Format::Zstd, "a.tar.zst"), "a.tar");
    assert_eq!(n(Format::Gzip, "blob.dat"), "blob.dat");
    assert_eq!(n(Format::Gzip, ".gz"), ".gz");
}

/// Walks `bytes` and gives each member's name and content (or none).
/// Members' names and contents.
type Listed = Vec<(String, Option<Vec<u8>>)>;

fn members(format: Format, bytes: &[u8]) -> (Listed, Result<(), Broken>) {
    let mut out = Vec::new();
    let r = walk(format, Input::Bytes(bytes), b"t", 1 << 20, &mut |e, r| {
        let data = r.map(|r| {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        });
        out.push((String::from_utf8_lossy(&e.name).into_owned(), data));
        Flow::Go
    });
    (out, r)
}

#[test]
fn a_v7_tar_and_a_gzip_are_walked() {
    let mut tar = v7_header(b"old.txt");
    tar.extend_from_slice(b"hello");
    tar.resize(512 * 2, 0);
    tar.resize(512 * 4, 0);
    let (m, r) = members(Format::Tar, &tar);
    assert!(r.is_ok());
    assert_eq!(m, vec![("old.txt".to_string(), Some(b"hello".to_vec()))]);

    let mut gz = Vec::new();
    {
        use std::io::Write;
        let mut w = flate2::GzBuilder::new()
            .filename("inner.bin")
            .mtime(1_000_000)
            .write(&mut gz, flate2::Compression::default());
        w.write_all(b"gzipped").unwrap();
        w.finish().unwrap();
    }
    let mut seen = Vec::new();
    walk(
        Format::Gzip,
        Input::Bytes(&gz),
        b"x.gz",
        1 << 20,
        &mut |e, r| {
            let mut v = Vec::new();
            r.unwrap().read_to_end(&mut v).unwrap();
            seen.push((e.name.clone(), e.modified, v));
            Flow::Go
        },
    )
    .unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, b"inner.bin");
    assert_eq!(seen[0].1.map(|t| t.secs), Some(1_000_000));
    assert_eq!(seen[0].2, b"gzipped");
}

#[test]
fn a_zip_without_its_directory_is_read_by_local_headers() {
    let mut zip = Vec::new();
    {
        use std::io::Write;
        let mut w = zip::ZipWriter::new(Cursor::new(&mut zip));
        let o = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        w.start_file("one.txt", o).unwrap();
        w.write_all(b"first").unwrap();
        w.start_file("two.txt", o).unwrap();
        w.write_all(b"second").unwrap();
        w.finish().unwrap();
    }
    let (m, r) = members(Format::Zip, &zip);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(m.len(), 2);
    // Cut inside the directory: both members still come from their headers.
    let cut = &zip[..zip.len() - 30];
    let (m, r) = members(Format::Zip, cut);
    assert_eq!(
        m.iter().map(|x| x.0.as_str()).collect::<Vec<_>>(),
        ["one.txt", "two.txt"]
    );
    assert_eq!(m[1].1.as_deref(), Some(&b"second"[..]));
    assert!(r.unwrap_err().at.contains("directory"));
}

use std::io::Cursor;

#[test]
fn a_zstd_window_past_the_memory_given_is_refused() {
    use std::io::Write;
    let data: Vec<u8> = (0..(17u32 << 20))
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut enc = zstd::stream::Encoder::new(Vec::new(), 1).unwrap();
    enc.window_log(24).unwrap();
    enc.write_all(&data).unwrap();
    let z = enc.finish().unwrap();
    let read = |memory: u64| {
        let mut got = Err(String::new());
        walk(
            Format::Zstd,
            Input::Bytes(&z),
            b"x.zst",
            memory,
            &mut |_, r| {
                let mut v = Vec::new();
                got = r
                    .unwrap()
                    .read_to_end(&mut v)
                    .map(|_| v.len())
                    .map_err(|e| e.to_string());
                Flow::Go
            },
        )
        .unwrap();
        got
    };
    assert_eq!(read(32 << 20), Ok(data.len()));
    let refused = read(4 << 20).unwrap_err();
    assert!(
        refused.to_lowercase().contains("memory") || refused.contains("window"),
        "{refused}"
    );
}

#[test]
fn a_decoder_need_is_read_from_the_stream_header() {
    use std::io::Write;
    // zstd: a window descriptor (16 MiB) and a single segment (its size).
    let mut enc = zstd::stream::Encoder::new(Vec::new(), 1).unwrap();
    enc.window_log(24).unwrap();
    enc.write_all(&[7u8; 100]).unwrap();
    let windowed = enc.finish().unwrap();
    let need = Format::Zstd.decoder_need(&windowed).unwrap();
    assert!(
        (16 << 20) + DECODER_OVERHEAD >= need && need > DECODER_OVERHEAD,
        "{need}"
    );
    // A single-segment frame of 100 bytes: the window is its size, 128 as a
    // power of two.
    let single = b"\x28\xb5\x2f\xfd\x20\x64";
    assert_eq!(
        Format::Zstd.decoder_need(single),
        Some(128 + DECODER_OVERHEAD)
    );
    // xz: stream header, then a block header with one LZMA2 filter whose
    // properties byte 22 declares an 8 MiB dictionary.
    let mut xz = b"\xfd7zXZ\x00\x00\x04\x00\x00\x00\x00".to_vec();
    xz.extend_from_slice(&[0x02, 0x00, 0x21, 0x01, 22, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        Format::Xz.decoder_need(&xz),
        Some((8 << 20) + DECODER_OVERHEAD)
    );
    assert_eq!(Format::Xz.decoder_need(&xz[..15]), None);
    assert_eq!(Format::SevenZ.decoder_need(&xz), None);
}
