//! Project VIC / CAID "VICS" JSON, versions 1.x (`odata.metadata`) and 2.0
//! (`@odata.context` with a profile: Default, US, UK, CUSTOM), in both shapes:
//! `#Media` (value[] holds Media records) and `#Cases` (value[] holds cases, each
//! with Media[]). The file is streamed: one record is in memory at a time.
//!
//! Pitfalls handled: upper- or lower-case hex; MediaSize and Category as numbers
//! or strings (read as integers, never through floating point); flags as booleans
//! or strings (not needed for matching, so ignored); SHA1 at top level or in
//! AlternativeHashes[]; MD5 at top level or only in MediaFiles[]; unknown keys
//! ignored. Categories are read in the profile's scheme: Project VIC US numbering
//! for 1.x, Default and US; CAID integers for UK; others kept as `VICS:<n>`.

use crate::digest::pdq::Pdq;
use crate::hashset::category::Category;
use crate::hashset::input::digest_token;
use crate::hashset::input::Sink;
use crate::hashset::{Algo, ParseError, PdqEntry, SetEntry};
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use std::fmt;
use std::io::Read;

/// Whether the start of a text file looks like VICS JSON.
pub fn sniff(head: &[u8]) -> bool {
    let t = head.trim_ascii_start();
    t.starts_with(b"{") && head.windows(b"odata.".len()).any(|w| w == b"odata.")
}

/// The category scheme, from the context URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Us,
    Uk,
    Other,
}

#[derive(Debug, Default, Deserialize)]
#[allow(non_snake_case)]
struct AltHash {
    HashName: Option<Value>,
    HashValue: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[allow(non_snake_case)]
struct MediaFile {
    MD5: Option<Value>,
}

/// One element of value[]: a Media record, or a Case holding Media records.
#[derive(Debug, Default, Deserialize)]
#[allow(non_snake_case)]
struct Item {
    MD5: Option<Value>,
    SHA1: Option<Value>,
    SHA256: Option<Value>,
    MediaSize: Option<Value>,
    MediaID: Option<Value>,
    PDQ: Option<Value>,
    Category: Option<Value>,
    AlternativeHashes: Option<Vec<AltHash>>,
    MediaFiles: Option<Vec<MediaFile>>,
    Media: Option<Vec<Item>>,
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// An integer given as a JSON integer or a string of digits.
fn as_int(v: &Value, what: &str) -> Result<Option<u64>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("{what} {n} is not a whole number of 0 or more")),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("{what} {s:?} is not a whole number")),
        other => Err(format!("{what} is {other}, not a number")),
    }
}

fn digest(v: Option<&Value>, algo: Algo, e: &mut SetEntry) -> Result<(), String> {
    let Some(text) = v.and_then(as_text).filter(|t| !t.is_empty()) else {
        return Ok(());
    };
    let (found, bytes) = digest_token(text.as_bytes())?;
    if found != algo {
        return Err(format!(
            "{} holds {} hex digits",
            algo.name().to_uppercase(),
            text.len()
        ));
    }
    e.set_digest(algo, &bytes);
    Ok(())
}

/// A Media record's PDQ hash, from a `PDQ` field or an alternative hash named
/// PDQ, identified by its MediaID (or MD5).
fn media_pdq(item: &Item, e: &SetEntry) -> Result<Option<PdqEntry>, String> {
    let alt = item.AlternativeHashes.iter().flatten().find(|a| {
        a.HashName
            .as_ref()
            .and_then(as_text)
            .is_some_and(|n| n.eq_ignore_ascii_case("PDQ"))
    });
    let Some(text) = item
        .PDQ
        .as_ref()
        .or(alt.and_then(|a| a.HashValue.as_ref()))
        .and_then(as_text)
        .filter(|t| !t.is_empty())
    else {
        return Ok(None);
    };
    let hash = Pdq::from_hex(&text)
        .filter(|_| text.len() == 64)
        .ok_or_else(|| format!("PDQ {text:?} is not 64 hex digits"))?;
    let id = item
        .MediaID
        .as_ref()
        .and_then(as_text)
        .filter(|t| !t.is_empty() && t != "0")
        .or_else(|| e.md5.map(|m| crate::digest::to_hex(&m)));
    Ok(Some(PdqEntry {
        hash,
        quality: None,
        category: e.category,
        id,
        sources: 0,
    }))
}

fn media(item: &Item, scheme: Scheme) -> Result<(SetEntry, Option<PdqEntry>), String> {
    let mut e = SetEntry::default();
    digest(item.MD5.as_ref(), Algo::Md5, &mut e)?;
    if e.md5.is_none() {
        let from_files = item
            .MediaFiles
            .iter()
            .flatten()
            .find_map(|f| f.MD5.as_ref());
        digest(from_files, Algo::Md5, &mut e)?;
    }
    digest(item.SHA1.as_ref(), Algo::Sha1, &mut e)?;
    digest(item.SHA256.as_ref(), Algo::Sha256, &mut e)?;
    for alt in item.AlternativeHashes.iter().flatten() {
        let name = alt
            .HashName
            .as_ref()
            .and_then(as_text)
            .unwrap_or_default()
            .to_ascii_uppercase();
        let algo = match name.as_str() {
            "SHA1" | "SHA-1" => Algo::Sha1,
            "SHA256" | "SHA-256" => Algo::Sha256,
            "MD5" => Algo::Md5,
            _ => continue, // PhotoDNA is carried by no index; PDQ below
        };
        let mut alt_entry = SetEntry::default();
        digest(alt.HashValue.as_ref(), algo, &mut alt_entry)?;
        e.md5 = e.md5.or(alt_entry.md5);
        e.sha1 = e.sha1.or(alt_entry.sha1);
        e.sha256 = e.sha256.or(alt_entry.sha256);
    }
    e.size = item
        .MediaSize
        .as_ref()
        .map(|v| as_int(v, "MediaSize"))
        .transpose()?
        .flatten();
    if let Some(n) = item
        .Category
        .as_ref()
        .map(|v| as_int(v, "Category"))
        .transpose()?
        .flatten()
    {
        let n = u8::try_from(n).map_err(|_| format!("Category {n} is out of range"))?;
        e.category = Some(match scheme {
            Scheme::Us => Category::Us(n),
            Scheme::Uk => Category::Uk(n),
            Scheme::Other => Category::Vics(n),
        });
    }
    let pdq = media_pdq(item, &e)?;
    if e.is_empty() && pdq.is_none() {
        return Err("Media record without MD5, SHA1, SHA256 or PDQ".into());
    }
    Ok((e, pdq))
}

/// Reads the scheme from `odata.metadata` / `@odata.context`.
fn scheme_of(url: &str) -> Result<(Scheme, String), String> {
    let lower = url.to_ascii_lowercase();
    let Some(pos) = lower.find("datamodels/") else {
        return Err(format!("unrecognised VICS context {url:?}"));
    };
    let rest = &url[pos + "datamodels/".len()..];
    let version = rest.split(".xml").next().unwrap_or("").to_string();
    if version.starts_with('1') {
        return Ok((Scheme::Us, format!("vics-{version}")));
    }
    let profile = rest.split('/').nth(1).unwrap_or("").to_string();
    let scheme = match profile.to_ascii_uppercase().as_str() {
        "DEFAULT" | "US" => Scheme::Us,
        "UK" => Scheme::Uk,
        _ => Scheme::Other,
    };
    Ok((
        scheme,
        format!("vics-{version}-{}", profile.to_ascii_lowercase()),
    ))
}

struct State<'s, 'a> {
    sink: &'s mut Sink<'a>,
    scheme: Option<Scheme>,
    format: String,
    /// Records met before the context key, held until the scheme is known.
    pending: Vec<(u64, Item)>,
    index: u64,
    /// The first strict-mode error, carried out of serde.
    error: Option<ParseError>,
}

impl State<'_, '_> {
    fn item(&mut self, item: Item) -> Result<(), ()> {
        self.index += 1;
        match self.scheme {
            None => {
                self.pending.push((self.index, item));
                Ok(())
            }
            Some(scheme) => self.emit(self.index, &item, scheme),
        }
    }

    fn emit(&mut self, index: u64, item: &Item, scheme: Scheme) -> Result<(), ()> {
        if let Some(inner) = &item.Media {
            for (j, m) in inner.iter().enumerate() {
                self.one(m, scheme, format!("value[{}].Media[{j}]", index - 1))?;
            }
            return Ok(());
        }
        self.one(item, scheme, format!("value[{}]", index - 1))
    }

    fn one(&mut self, item: &Item, scheme: Scheme, at: String) -> Result<(), ()> {
        match media(item, scheme) {
            Ok((e, None)) => {
                self.sink.entry(e);
                Ok(())
            }
            Ok((e, Some(p))) if e.is_empty() => {
                self.sink.pdq_entry(p);
                Ok(())
            }
            Ok((e, Some(p))) => {
                self.sink.entry_with_pdq(e, p);
                Ok(())
            }
            Err(m) => self
                .sink
                .bad(ParseError::new(0, format!("{at}: {m}")))
                .map_err(|e| {
                    self.error = Some(e);
                }),
        }
    }

    fn set_context(&mut self, url: &str) -> Result<(), ()> {
        let (scheme, format) = scheme_of(url).map_err(|m| {
            self.error = Some(ParseError::new(0, m));
        })?;
        self.scheme = Some(scheme);
        self.format = format;
        for (i, item) in std::mem::take(&mut self.pending) {
            self.emit(i, &item, scheme)?;
        }
        Ok(())
    }
}

struct Top<'x, 's, 'a>(&'x mut State<'s, 'a>);
struct Values<'x, 's, 'a>(&'x mut State<'s, 'a>);

const STOP: &str = "hashsweep: stopped at a bad record";

impl<'de> DeserializeSeed<'de> for Top<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Top<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a VICS JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "odata.metadata" | "@odata.context" => {
                    let url: String = map.next_value()?;
                    if self.0.set_context(&url).is_err() {
                        return Err(serde::de::Error::custom(STOP));
                    }
                }
                "value" => map.next_value_seed(Values(&mut *self.0))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Values<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Values<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the value[] array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(item) = seq.next_element::<Item>()? {
            if self.0.item(item).is_err() {
                return Err(serde::de::Error::custom(STOP));
            }
        }
        Ok(())
    }
}

/// Parses a VICS JSON stream (UTF-8; a UTF-8 byte-order mark already removed).
pub fn parse(r: impl Read, sink: &mut Sink) -> Result<String, ParseError> {
    let mut state = State {
        sink,
        scheme: None,
        format: String::new(),
        pending: Vec::new(),
        index: 0,
        error: None,
    };
    let mut de = serde_json::Deserializer::from_reader(crate::hashset::input::StringCap::new(r));
    let result = Top(&mut state).deserialize(&mut de).and_then(|()| de.end());
    if let Some(e) = state.error.take() {
        return Err(e);
    }
    if let Err(e) = result {
        return Err(ParseError::new(
            e.line() as u64,
            format!("malformed JSON at column {}: {e}", e.column()),
        ));
    }
    if state.scheme.is_none() {
        return Err(ParseError::new(
            0,
            "no odata.metadata or @odata.context key: not a VICS file",
        ));
    }
    Ok(state.format)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::to_hex;

    fn run(data: &[u8], lenient: bool) -> (Result<String, ParseError>, Vec<SetEntry>, u64) {
        let mut v = Vec::new();
        let mut push = |e| v.push(e);
        let mut sink = Sink::new(lenient, &mut push);
        let r = parse(data, &mut sink);
        let bad = sink.bad;
        drop(sink);
        (r, v, bad)
    }

    #[test]
    fn vics_2_media_with_strings_for_numbers_and_flags() {
        let data = br#"{"@odata.context":"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media","value":[
            {"MediaID":1,"Category":"1","MD5":"ADEBF3FA3C9BE7F73825E1CB9E2DEA09","MediaSize":"18446744073709551615","IsPrecategorized":"false","VictimIdentified":true},
            {"MediaID":2,"Category":0,"MD5":"192db5cecd7ac2a2fd02f903a27a5fcd","SHA1":"1407C5674DC7DA55419C64C5375907991EC6011F","MediaSize":4190},
            {"MediaID":3,"Category":null,"MD5":"192DB5CECD7AC2A2FD02F903A27A5FCE","Unknown":{"x":[1,2]}}]}"#;
        let (r, v, _) = run(data, false);
        assert_eq!(r.unwrap(), "vics-2.0-us");
        assert_eq!(v.len(), 3);
        assert_eq!(
            v[0].size,
            Some(u64::MAX),
            "sizes are never read through f64"
        );
        assert_eq!(v[0].category, Some(Category::Us(1)));
        assert_eq!(v[1].category, Some(Category::Us(0)));
        assert_eq!(
            to_hex(&v[1].sha1.unwrap()),
            "1407c5674dc7da55419c64c5375907991ec6011f"
        );
        assert_eq!(v[2].category, None);
    }

    #[test]
    fn cases_shape_uk_profile_and_alternative_hashes() {
        let data = br#"{"@odata.context":"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/UK/$metadata#Cases","value":[
            {"CaseID":1,"TotalMediaFiles":99,"Media":[
              {"Category":2,"MD5":"ADEBF3FA3C9BE7F73825E1CB9E2DEA09"},
              {"Category":8,"MediaFiles":[{"MD5":"192DB5CECD7AC2A2FD02F903A27A5FCD","FileName":"a.jpg"}],
               "AlternativeHashes":[{"MD5":"x","HashName":"SHA1","HashValue":"1407C5674DC7DA55419C64C5375907991EC6011F"},{"HashName":"PhotoDNA","HashValue":"AAAA"}]}]}]}"#;
        let (r, v, _) = run(data, false);
        assert_eq!(r.unwrap(), "vics-2.0-uk");
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].category, Some(Category::Uk(2)));
        assert_eq!(
            to_hex(&v[1].md5.unwrap()),
            "192db5cecd7ac2a2fd02f903a27a5fcd"
        );
        assert!(v[1].sha1.is_some());
    }

    #[test]
    fn context_after_value_and_version_1() {
        let data = br#"{"value":[{"MD5":"ADEBF3FA3C9BE7F73825E1CB9E2DEA09","Category":3}],
            "odata.metadata":"http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media"}"#;
        let (r, v, _) = run(data, false);
        assert_eq!(r.unwrap(), "vics-1.3");
        assert_eq!(v[0].category, Some(Category::Us(3)));
    }

    #[test]
    fn bad_records_and_bad_json() {
        let data = br#"{"@odata.context":"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media","value":[
            {"MD5":"ADEBF3FA3C9BE7F73825E1CB9E2DEA09"},{"MediaSize":3},{"MD5":"XYZ"},{"MD5":"ADEBF3FA3C9BE7F73825E1CB9E2DEA09","MediaSize":1.5}]}"#;
        let e = run(data, false).0.unwrap_err();
        assert!(
            e.message.starts_with("value[1]: Media record without"),
            "{}",
            e.message
        );
        let (r, v, bad) = run(data, true);
        assert!(r.is_ok());
        assert_eq!((v.len(), bad), (1, 3));
        let e = run(
            br#"{"@odata.context":"x/DataModels/2.0.xml/US/$metadata#Media","value":[{"MD5":}]}"#,
            true,
        )
        .0
        .unwrap_err();
        assert_eq!(e.line, 1);
        assert!(
            e.message.contains("malformed JSON at column"),
            "{}",
            e.message
        );
        let e = run(br#"{"value":[]}"#, false).0.unwrap_err();
        assert!(e.message.contains("not a VICS file"));
    }

    #[test]
    fn pdq_as_an_alternative_hash_or_a_field() {
        let h = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
        let data = format!(
            r#"{{"@odata.context":"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media","value":[
            {{"MediaID":17,"MD5":"0123456789ABCDEF0123456789ABCDEF","Category":1,"AlternativeHashes":[{{"HashName":"PDQ","HashValue":"{h}"}}]}},
            {{"Category":2,"PDQ":"{h}"}}]}}"#
        );
        let mut v = Vec::new();
        let mut push = |e| v.push(e);
        let mut sink = Sink::new(false, &mut push);
        parse(data.as_bytes(), &mut sink).unwrap();
        let pdq = std::mem::take(&mut sink.pdq);
        drop(sink);
        assert_eq!(v.len(), 1);
        assert_eq!(pdq.len(), 2);
        assert_eq!(pdq[0].id.as_deref(), Some("17"));
        assert_eq!(pdq[0].category, Some(Category::Us(1)));
        assert_eq!(pdq[1].hash.to_hex(), h);
        assert_eq!(pdq[1].category, Some(Category::Us(2)));
    }
}
