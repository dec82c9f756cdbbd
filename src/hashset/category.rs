//! Categories as hash sets give them, and the notation of the `category` column.
//!
//! Notation: `<scheme>:<value>`. `US:<n>` is the Project VIC US numbering (0
//! Non-Pertinent, 1 Child Abuse Material, 2 Child Exploitive / age difficult,
//! 3 CGI/animation, 4 comparison); `UK:<n>` is a CAID integer shown unchanged;
//! `VICS:<n>` is a category of another VICS profile (e.g. CUSTOM), unchanged;
//! `uncategorised` is an alert entry with no category. Severity, most severe
//! first: US:1, US:2, US:3, UK:n (by n, ascending), US:4, VICS:n, other US:n,
//! uncategorised, US:0. A US:0 (Non-Pertinent) entry never raises an alert.

/// A category in the scheme of the set it came from.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// Project VIC US numbering.
    Us(u8),
    /// CAID (UK) integer, mapping to grades unconfirmed, shown unchanged.
    Uk(u8),
    /// A VICS category of another profile (e.g. CUSTOM), shown unchanged.
    Vics(u8),
    /// An NSRL row with SpecialCode `M`: known malicious software. A match never
    /// makes a file known-good.
    NsrlMalicious,
}

impl Category {
    /// The `category` column value.
    pub fn notation(self) -> String {
        match self {
            Category::Us(n) => format!("US:{n}"),
            Category::Uk(n) => format!("UK:{n}"),
            Category::Vics(n) => format!("VICS:{n}"),
            Category::NsrlMalicious => "NSRL:M".to_string(),
        }
    }

    /// Reads the notation [`Category::notation`] writes.
    pub fn parse_notation(text: &str) -> Option<Category> {
        let (scheme, n) = text.split_once(':')?;
        match (scheme, n.parse::<u8>()) {
            ("US", Ok(n)) => Some(Category::Us(n)),
            ("UK", Ok(n)) => Some(Category::Uk(n)),
            ("VICS", Ok(n)) => Some(Category::Vics(n)),
            ("NSRL", _) if n == "M" => Some(Category::NsrlMalicious),
            _ => None,
        }
    }

    /// Project VIC US category 0, Non-Pertinent: a match is not an alert, even
    /// in an alert set (it is treated as known-good).
    pub fn is_non_pertinent(self) -> bool {
        self == Category::Us(0)
    }

    /// Whether a match in a known-good set must not make the file known-good.
    pub fn is_malicious(self) -> bool {
        self == Category::NsrlMalicious
    }

    /// Lower is more severe. Entries with no category rank as [`UNCATEGORISED_SEVERITY`].
    pub fn severity(self) -> u16 {
        match self {
            Category::Us(1) => 10,
            Category::Us(2) => 20,
            Category::Us(3) => 30,
            Category::Uk(n) => 100 + n as u16,
            Category::Vics(n) => 500 + n as u16,
            Category::NsrlMalicious => 800,
            Category::Us(4) => 400,
            Category::Us(0) => 1000,
            Category::Us(n) => 500 + n as u16,
        }
    }
}

/// Severity of an alert entry that has no category.
pub const UNCATEGORISED_SEVERITY: u16 = 900;
/// The notation for an alert entry with no category.
pub const UNCATEGORISED: &str = "uncategorised";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_orders_abuse_material_first_and_non_pertinent_last() {
        let mut cats = [
            Category::Us(0),
            Category::Us(4),
            Category::Us(3),
            Category::Us(1),
            Category::Us(2),
        ];
        cats.sort_by_key(|c| c.severity());
        assert_eq!(
            cats.map(|c| c.notation()),
            ["US:1", "US:2", "US:3", "US:4", "US:0"]
        );
        assert!(Category::Us(4).severity() < UNCATEGORISED_SEVERITY);
        assert!(UNCATEGORISED_SEVERITY < Category::Us(0).severity());
    }
}
