//! `import-worker registry load FILE.csv`: fills the embedded teacher registry from a CSV with
//! the columns `TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,DATE_OF_BIRTH` (any order, dates ddMMyyyy).
//! Read in pieces and written in batches; records that fail a check are listed and skipped.

use std::path::Path;

use identity_core::import::records::{RawRecord, RecordSplitter};
use identity_core::{DateOfBirth, RegistryRecord, Trn};
use identity_store::Store;
use tokio::io::AsyncReadExt;

const COLUMNS: [&str; 5] = ["TRN", "FIRST_NAME", "MIDDLE_NAME", "LAST_NAME", "DATE_OF_BIRTH"];
const BATCH: usize = 5_000;
/// Refused records listed in the report; the count covers the rest.
const SHOWN_ERRORS: usize = 20;

#[derive(Debug, Default)]
pub struct Loaded {
    pub loaded: u64,
    pub refused: Vec<String>,
    pub refused_count: u64,
}

fn parse(record: &RawRecord, order: &[usize; 5], line: u64) -> Result<RegistryRecord, String> {
    if record.field_count != 5 || record.fields.len() != 5 {
        return Err(format!("record {line}: expected 5 fields, found {}", record.field_count));
    }
    let text = |i: usize| {
        std::str::from_utf8(&record.fields[order[i]]).map(str::trim).map_err(|_| format!("record {line}: not UTF-8"))
    };
    let trn = Trn::parse(text(0)?).map_err(|_| format!("record {line}: TRN must be a 7 digit number"))?;
    let required = |i: usize| -> Result<String, String> {
        let v = text(i)?;
        if v.is_empty() {
            Err(format!("record {line}: {} is empty", COLUMNS[i]))
        } else {
            Ok(v.to_owned())
        }
    };
    let middle = text(2)?;
    Ok(RegistryRecord {
        trn,
        first_name: required(1)?,
        middle_name: (!middle.is_empty()).then(|| middle.to_owned()),
        last_name: required(3)?,
        date_of_birth: DateOfBirth::parse_ddmmyyyy(text(4)?)
            .map_err(|_| format!("record {line}: DATE_OF_BIRTH must be a real date in ddMMyyyy format"))?,
    })
}

fn header(record: &RawRecord) -> Result<[usize; 5], String> {
    let names: Vec<String> = record.fields.iter().map(|f| String::from_utf8_lossy(f).trim().to_owned()).collect();
    let mut order = [0; 5];
    for (i, column) in COLUMNS.iter().enumerate() {
        order[i] = names
            .iter()
            .position(|n| n == column)
            .ok_or_else(|| format!("column {column} is missing from the header (expected {})", COLUMNS.join(",")))?;
    }
    if let Some(extra) = names.iter().find(|n| !COLUMNS.contains(&n.as_str())) {
        return Err(format!("unexpected column {extra:?} in the header (expected {})", COLUMNS.join(",")));
    }
    Ok(order)
}

pub async fn load(store: &Store, path: &Path) -> Result<Loaded, String> {
    let mut file = tokio::fs::File::open(path).await.map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut splitter = RecordSplitter::new();
    let mut records = Vec::new();
    let mut order = None;
    let mut line = 0;
    let mut batch = Vec::new();
    let mut out = Loaded::default();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).await.map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if n == 0 {
            splitter.finish(&mut records);
        } else {
            splitter.feed(&buf[..n], &mut records);
        }
        for record in records.drain(..) {
            let Some(order) = &order else {
                order = Some(header(&record)?);
                continue;
            };
            line += 1;
            match parse(&record, order, line) {
                Ok(r) => batch.push(r),
                Err(e) => {
                    out.refused_count += 1;
                    if out.refused.len() < SHOWN_ERRORS {
                        out.refused.push(e);
                    }
                }
            }
        }
        if batch.len() >= BATCH || (n == 0 && !batch.is_empty()) {
            out.loaded += store.registry_put(&batch).await.map_err(|e| e.to_string())?;
            batch.clear();
        }
        if n == 0 {
            break;
        }
    }
    if order.is_none() {
        return Err(format!("the file is empty: expected a header line {}", COLUMNS.join(",")));
    }
    Ok(out)
}
