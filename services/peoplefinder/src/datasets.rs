//! The reference lists that are the department's data, not the project's: countries and UK
//! staff locations (DESIGN.md §7.7). The seed system ingests them from Data Workspace; here
//! `peoplefinder reference load` reads such an export (JSON Lines, each row's entry under
//! `"object"`, as the seed's ingest reads them; or a JSON array, the seed's Django fixture
//! `{"pk", "fields"}` included), checks every entry, and replaces the list whole.

use std::collections::HashSet;

use std::path::Path;

use chrono::NaiveDate;
use identity_store::{ReferenceList, Store};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The largest file `load` reads: the department's countries file is about 60 KiB.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Why a file was not loaded. Nothing is stored when any entry is wrong.
#[derive(Debug, PartialEq, Eq)]
pub enum LoadError {
    /// Not JSON, at a line of a JSON Lines file (1-based) or of the whole document.
    NotJson {
        line: usize,
        reason: String,
    },
    /// An entry (1-based, in the file's order) that is not a valid one of the list.
    Invalid {
        entry: usize,
        reason: String,
    },
    /// Two entries with one key.
    Duplicate {
        key: String,
    },
    Empty,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotJson { line, reason } => write!(f, "line {line} is not JSON: {reason}"),
            Self::Invalid { entry, reason } => write!(f, "entry {entry}: {reason}"),
            Self::Duplicate { key } => write!(f, "the key {key:?} is given twice"),
            Self::Empty => f.write_str("the file holds no entries"),
        }
    }
}

/// A country as People Finder reads it (the seed system's `CountryResponse`).
#[derive(Debug, Deserialize, Serialize)]
struct Country {
    reference_id: String,
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    iso_1_code: Option<String>,
    #[serde(default)]
    iso_2_code: Option<String>,
    #[serde(default)]
    iso_3_code: Option<String>,
    #[serde(default)]
    overseas_region: Option<String>,
    #[serde(default)]
    start_date: Option<NaiveDate>,
    #[serde(default)]
    end_date: Option<NaiveDate>,
}

/// A UK staff location as People Finder reads it (`UkStaffLocationResponse`; the dataset's
/// `city` is not answered, as in the seed system).
#[derive(Debug, Deserialize, Serialize)]
struct StaffLocation {
    code: String,
    name: String,
    organisation: String,
    building_name: String,
}

fn required(value: &str, name: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err(format!("'{name}' is empty"));
    }
    Ok(())
}

impl Country {
    fn checked(mut self) -> Result<(String, Value), String> {
        required(&self.reference_id, "reference_id")?;
        required(&self.name, "name")?;
        // The seed system's column holds 11 characters (`CTHMTC00260`).
        if self.reference_id.chars().count() > 11 {
            return Err(format!("'reference_id' {:?} is longer than 11 characters", self.reference_id));
        }
        // Data Workspace spells the type `Country`; People Finder reads `country`.
        self.kind = self.kind.trim().to_ascii_lowercase();
        if !["country", "territory"].contains(&self.kind.as_str()) {
            return Err(format!("'type' must be country or territory, not {:?}", self.kind));
        }
        let key = self.reference_id.clone();
        Ok((key, serde_json::to_value(self).map_err(|e| e.to_string())?))
    }
}

impl StaffLocation {
    fn checked(self) -> Result<(String, Value), String> {
        required(&self.code, "code")?;
        required(&self.name, "name")?;
        let key = self.code.clone();
        Ok((key, serde_json::to_value(self).map_err(|e| e.to_string())?))
    }
}

/// The rows of a file: a JSON array, or JSON Lines.
fn rows(text: &str) -> Result<Vec<Value>, LoadError> {
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if trimmed.starts_with('[') {
        return serde_json::from_str(trimmed).map_err(|e| LoadError::NotJson { line: e.line(), reason: e.to_string() });
    }
    let mut out = Vec::new();
    for (i, line) in trimmed.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        out.push(serde_json::from_str(line).map_err(|e| LoadError::NotJson { line: i + 1, reason: e.to_string() })?);
    }
    Ok(out)
}

/// A row's entry: under `"object"` (the ingest's rows), a Django fixture's `fields` with its
/// `pk` as the key, or the row itself.
fn entry_of(list: ReferenceList, row: Value) -> Value {
    let Value::Object(mut row) = row else { return row };
    if let Some(object) = row.remove("object") {
        return object;
    }
    if let (Some(Value::Object(fields)), Some(pk)) = (row.get("fields"), row.get("pk")) {
        let key = match list {
            ReferenceList::Countries => "reference_id",
            ReferenceList::UkStaffLocations => "code",
        };
        let mut fields = fields.clone();
        fields.entry(key).or_insert_with(|| pk.clone());
        return Value::Object(fields);
    }
    Value::Object(row)
}

/// The entries of `list` that `text` holds, keyed and in the order People Finder answers them:
/// countries by reference id (the seed fixture's order), locations by name (the seed model's).
pub fn parse(list: ReferenceList, text: &str) -> Result<Vec<(String, Value)>, LoadError> {
    let mut entries = Vec::new();
    for (i, row) in rows(text)?.into_iter().enumerate() {
        let entry = entry_of(list, row);
        let invalid = |reason: String| LoadError::Invalid { entry: i + 1, reason };
        let checked = match list {
            ReferenceList::Countries => {
                serde_json::from_value::<Country>(entry).map_err(|e| e.to_string()).and_then(Country::checked)
            }
            ReferenceList::UkStaffLocations => serde_json::from_value::<StaffLocation>(entry)
                .map_err(|e| e.to_string())
                .and_then(StaffLocation::checked),
        };
        entries.push(checked.map_err(invalid)?);
    }
    if entries.is_empty() {
        return Err(LoadError::Empty);
    }
    let mut seen = HashSet::new();
    if let Some((key, _)) = entries.iter().find(|(key, _)| !seen.insert(key.clone())) {
        return Err(LoadError::Duplicate { key: key.clone() });
    }
    match list {
        ReferenceList::Countries => entries.sort_by(|a, b| a.0.cmp(&b.0)),
        ReferenceList::UkStaffLocations => {
            let name = |e: &(String, Value)| e.1["name"].as_str().unwrap_or_default().to_owned();
            entries.sort_by(|a, b| name(a).cmp(&name(b)).then_with(|| a.0.cmp(&b.0)));
        }
    }
    Ok(entries)
}

/// `peoplefinder reference load`: reads, checks and stores `file` as `list`; what it did, or why
/// nothing was stored.
pub async fn load(store: &Store, list: ReferenceList, file: &Path) -> Result<String, String> {
    let shown = file.display();
    let size = std::fs::metadata(file).map_err(|e| format!("{shown}: {e}"))?.len();
    if size > MAX_FILE_BYTES {
        return Err(format!("{shown} is {size} bytes, more than the {MAX_FILE_BYTES} a list may be"));
    }
    let bytes = std::fs::read(file).map_err(|e| format!("{shown}: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{shown} is not UTF-8 text"))?;
    let entries = parse(list, &text).map_err(|e| format!("{shown}: {e}; nothing was loaded"))?;
    let stored = store.reference_replace(list, &entries).await.map_err(|e| format!("storing the list failed: {e}"))?;
    Ok(format!("loaded {stored} entries into {}", list.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_ingests_rows_and_the_seed_fixture_both_load() {
        let jsonl = concat!(
            r#"{"object": {"reference_id": "CTHMTC00260", "name": "United Kingdom", "type": "Country", "iso_1_code": "826", "iso_2_code": "GB", "iso_3_code": "GBR", "overseas_region": null, "start_date": null, "end_date": null}}"#,
            "\n\n",
            r#"{"object": {"reference_id": "CTHMTC00002", "name": "Afghanistan", "type": "country", "iso_2_code": "AF", "start_date": "1919-08-19"}}"#,
            "\n"
        );
        let got = parse(ReferenceList::Countries, jsonl).unwrap();
        assert_eq!(got.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["CTHMTC00002", "CTHMTC00260"]);
        assert_eq!(
            got[1].1,
            json!({"reference_id": "CTHMTC00260", "name": "United Kingdom", "type": "country", "iso_1_code": "826",
                   "iso_2_code": "GB", "iso_3_code": "GBR", "overseas_region": null, "start_date": null, "end_date": null})
        );
        assert_eq!(got[0].1["start_date"], "1919-08-19");

        let fixture = json!([{"model": "profiles.country", "pk": "CTHMTC00274",
                              "fields": {"name": "Zimbabwe", "type": "country", "iso_2_code": "ZW"}}]);
        let got = parse(ReferenceList::Countries, &fixture.to_string()).unwrap();
        assert_eq!((got[0].0.as_str(), &got[0].1["name"]), ("CTHMTC00274", &json!("Zimbabwe")));

        let places = json!([
            {"code": "L2", "name": "Windsor House", "organisation": "DBT", "building_name": "Windsor House", "city": "London"},
            {"code": "L1", "name": "Old Admiralty Building", "organisation": "DBT", "building_name": "OAB"}
        ]);
        let got = parse(ReferenceList::UkStaffLocations, &places.to_string()).unwrap();
        assert_eq!(got.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["L1", "L2"], "by name");
        assert!(got[1].1.get("city").is_none(), "as the seed system answers");
    }

    #[test]
    fn a_bad_file_names_its_first_problem() {
        let list = ReferenceList::Countries;
        let ok = r#"{"reference_id": "C1", "name": "A", "type": "country"}"#;
        assert!(matches!(parse(list, "{\"x\":"), Err(LoadError::NotJson { line: 1, .. })));
        assert!(matches!(parse(list, &format!("{ok}\nnope")), Err(LoadError::NotJson { line: 2, .. })));
        assert_eq!(parse(list, "  \n"), Err(LoadError::Empty));
        assert_eq!(parse(list, &format!("{ok}\n{ok}")), Err(LoadError::Duplicate { key: "C1".into() }));
        for (bad, says) in [
            (r#"{"name": "A", "type": "country"}"#, "reference_id"),
            (r#"{"reference_id": "C2", "name": " ", "type": "country"}"#, "'name' is empty"),
            (r#"{"reference_id": "C2", "name": "A", "type": "planet"}"#, "country or territory"),
            (r#"{"reference_id": "CTHMTC002600", "name": "A", "type": "country"}"#, "11 characters"),
            (r#"{"reference_id": "C2", "name": "A", "type": "country", "end_date": "31/12/2020"}"#, "input"),
        ] {
            match parse(list, &format!("{ok}\n{bad}")) {
                Err(LoadError::Invalid { entry: 2, reason }) => assert!(reason.contains(says), "{bad}: {reason}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
        let place = r#"{"code": "L1", "name": "N", "organisation": "DBT"}"#;
        assert!(matches!(parse(ReferenceList::UkStaffLocations, place), Err(LoadError::Invalid { entry: 1, .. })));
    }
}
