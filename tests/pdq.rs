//! PDQ against ThreatExchange's published hashes of its sample pictures
//! (`../shared/samples/pdq/expected.csv`), by Hamming distance: within 16 bits
//! of the reference, as ThreatExchange's own tests accept; and photos read by
//! the JPEG fast path, to the bit as the reference hashes them.

mod util;

use hashsweep::digest::pdq::Pdq;
use hashsweep::digest::picture::{pdq_of, Format};
use std::path::Path;
use util::skip;

#[test]
fn reference_samples_within_16_bits() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/samples/pdq");
    let Ok(csv) = std::fs::read_to_string(dir.join("expected.csv")) else {
        return skip(
            "reference_samples_within_16_bits",
            "sample not present (../shared/samples/pdq)",
        );
    };
    let mut checked = 0;
    let mut worst = 0;
    for line in csv.lines().skip(1) {
        let mut cells = line.split(',');
        let (name, want) = (cells.next().unwrap(), cells.next().unwrap());
        let want = Pdq::from_hex(want).expect("64 hex digits");
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let format = Format::detect(&bytes).unwrap_or_else(|| panic!("{name}: not a picture"));
        let got = pdq_of(format, &bytes).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let d = got.hash.distance(&want);
        assert!(
            d <= 16,
            "{name}: {} is {d} bits from the reference {}",
            got.hash.to_hex(),
            want.to_hex()
        );
        worst = worst.max(d);
        checked += 1;
    }
    assert_eq!(checked, 15);
    eprintln!("{checked} reference pictures, at most {worst} bits from the reference");
}

#[test]
fn hex_round_trip_and_distance() {
    let a =
        Pdq::from_hex("d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22").unwrap();
    assert_eq!(
        a.to_hex(),
        "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22"
    );
    let b =
        Pdq::from_hex("D8F8F0CEE0F4A84F0637022A078F67F0B36E2ED596621E1D33E6339C4E9C9B23").unwrap();
    assert_eq!(a.distance(&b), 1);
    assert_eq!(a.distance(&a), 0);
    assert!(Pdq::from_hex("d8f8").is_none());
    assert!(Pdq::from_hex(&"g".repeat(64)).is_none());
}

#[test]
fn photos_hash_as_the_reference_does() {
    // Photo-sized colour JPEGs, 4:2:0 and 4:2:2, 2046 pixels high (read at
    // 1/4: 512 rows), read by the JPEG fast path; tests/fixtures/jpeg/
    // photos.csv holds what pdqhash (ThreatExchange's C++) gives over
    // Pillow's draft of each (scripts/jpeg-fixtures). Their right part is
    // chroma outside the RGB cube, shown as stripes its Y does not have.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jpeg");
    let csv = std::fs::read_to_string(dir.join("photos.csv")).unwrap();
    let mut checked = 0;
    for line in csv.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        let bytes = std::fs::read(dir.join(cells[0])).unwrap();
        let got = pdq_of(Format::Jpeg, &bytes).unwrap();
        let want = Pdq::from_hex(cells[1]).unwrap();
        assert_eq!(
            (got.hash.to_hex(), got.quality.to_string()),
            (want.to_hex(), cells[2].to_string()),
            "{}: {} bits from the reference",
            cells[0],
            got.hash.distance(&want)
        );
        checked += 1;
    }
    assert_eq!(checked, 2);
}
