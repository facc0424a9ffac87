//! Splits a CSV byte stream into records, keeping each record's original text (the result file's
//! RAW_DATA) beside its fields. Fed in pieces of any size, so a file is never held whole.
//!
//! Bounded: a record longer than [`MAX_RECORD_BYTES`] or with more than [`MAX_FIELDS`] fields is
//! still consumed to its end, but only its length, its field count and the first bytes of its
//! text are kept, so a 10 MB field or 10,000 columns cost no more memory than a normal row.
//! Blank lines are skipped (csv-core does so), CRLF and LF both end a record, quoted fields may
//! hold commas and newlines, and a UTF-8 byte order mark at the start is dropped.

use csv_core::{ReadRecordResult, Reader};

/// The longest record kept whole; longer ones are reported as too long.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;
/// Fields kept per record: one more than a valid row has, to tell "too many" apart.
pub const MAX_FIELDS: usize = 9;

/// One record as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    /// The record's original bytes, without its line terminator (cut at [`MAX_RECORD_BYTES`]).
    pub raw: Vec<u8>,
    /// Its fields (absent when the record was too long or had too many fields to keep).
    pub fields: Vec<Vec<u8>>,
    /// How many fields it had.
    pub field_count: usize,
    /// Whether it was longer than [`MAX_RECORD_BYTES`].
    pub too_long: bool,
}

/// The incremental splitter.
#[derive(Debug)]
pub struct RecordSplitter {
    reader: Reader,
    out: Vec<u8>,
    out_len: usize,
    ends: Vec<usize>,
    ends_len: usize,
    field_count: usize,
    raw: Vec<u8>,
    overflow: bool,
    started: bool,
}

impl Default for RecordSplitter {
    fn default() -> Self {
        Self::new()
    }
}

impl RecordSplitter {
    pub fn new() -> Self {
        Self {
            reader: Reader::new(),
            out: vec![0; 1024],
            out_len: 0,
            ends: vec![0; MAX_FIELDS + 1],
            ends_len: 0,
            field_count: 0,
            raw: Vec::new(),
            overflow: false,
            started: false,
        }
    }

    /// Feeds the next piece of input; completed records are appended to `records`.
    pub fn feed(&mut self, input: &[u8], records: &mut Vec<RawRecord>) {
        self.run(input, records, false);
    }

    /// Ends the input: a last record without a line terminator is completed.
    pub fn finish(&mut self, records: &mut Vec<RawRecord>) {
        self.run(&[], records, true);
    }

    /// Splits one whole input (a stored row's text) and makes the splitter ready for the next:
    /// building a csv-core reader builds its state machine, which cost more than the rest of a
    /// row's checks together, so a chunk's rows share one splitter.
    pub fn split(&mut self, input: &[u8]) -> Vec<RawRecord> {
        let mut out = Vec::new();
        self.feed(input, &mut out);
        self.finish(&mut out);
        self.reader.reset();
        self.raw.clear();
        self.out_len = 0;
        self.ends_len = 0;
        self.field_count = 0;
        self.overflow = false;
        self.started = false;
        out
    }

    fn run(&mut self, mut input: &[u8], records: &mut Vec<RawRecord>, at_end: bool) {
        loop {
            let (result, nin, nout, nend) = if self.overflow {
                // Past the limits: keep csv-core's quoting state moving, discard what it writes.
                let mut scratch = [0u8; 4096];
                let mut scratch_ends = [0usize; 64];
                self.reader.read_record(input, &mut scratch, &mut scratch_ends)
            } else {
                self.reader.read_record(input, &mut self.out[self.out_len..], &mut self.ends[self.ends_len..])
            };
            self.keep_raw(&input[..nin]);
            input = &input[nin..];
            self.field_count += nend;
            if !self.overflow {
                self.out_len += nout;
                self.ends_len += nend;
            }
            match result {
                ReadRecordResult::InputEmpty => {
                    if input.is_empty() && !at_end {
                        return;
                    }
                }
                ReadRecordResult::OutputFull => {
                    if self.out.len() >= MAX_RECORD_BYTES {
                        self.overflow = true;
                    } else {
                        let grown = (self.out.len() * 2).min(MAX_RECORD_BYTES);
                        self.out.resize(grown, 0);
                    }
                }
                ReadRecordResult::OutputEndsFull => self.overflow = true,
                ReadRecordResult::Record => records.push(self.take_record()),
                ReadRecordResult::End => return,
            }
        }
    }

    fn keep_raw(&mut self, consumed: &[u8]) {
        let mut consumed = consumed;
        if !self.started {
            if let Some(rest) = consumed.strip_prefix(b"\xef\xbb\xbf") {
                consumed = rest;
            }
            self.started = !consumed.is_empty();
        }
        // Terminators of the previous record and skipped blank lines arrive first.
        if self.raw.is_empty() {
            let skip = consumed.iter().take_while(|b| **b == b'\r' || **b == b'\n').count();
            consumed = &consumed[skip..];
        }
        let room = (MAX_RECORD_BYTES + 2).saturating_sub(self.raw.len());
        self.raw.extend_from_slice(&consumed[..consumed.len().min(room)]);
    }

    fn take_record(&mut self) -> RawRecord {
        let mut raw = std::mem::take(&mut self.raw);
        while raw.last().is_some_and(|b| *b == b'\r' || *b == b'\n') {
            raw.pop();
        }
        let too_long = self.overflow && self.field_count <= MAX_FIELDS || raw.len() > MAX_RECORD_BYTES;
        raw.truncate(MAX_RECORD_BYTES);
        let fields = if self.overflow {
            Vec::new()
        } else {
            let mut start = 0;
            self.ends[..self.ends_len]
                .iter()
                .map(|&end| {
                    let f = self.out[start..end].to_vec();
                    start = end;
                    f
                })
                .collect()
        };
        let record = RawRecord { raw, fields, field_count: self.field_count, too_long };
        self.out_len = 0;
        self.ends_len = 0;
        self.field_count = 0;
        self.overflow = false;
        record
    }
}

/// Splits a whole input at once (tests, small files).
pub fn split_all(input: &[u8]) -> Vec<RawRecord> {
    RecordSplitter::new().split(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(records: &[RawRecord]) -> Vec<(String, Vec<String>)> {
        records
            .iter()
            .map(|r| {
                (
                    String::from_utf8_lossy(&r.raw).into_owned(),
                    r.fields.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn records_keep_their_original_text() {
        let got = texts(&split_all(b"\xef\xbb\xbfa,b\r\n\"x, \"\"y\"\"\nz\",c\r\n\r\n\n  d ,e\n\n"));
        assert_eq!(
            got,
            vec![
                ("a,b".to_owned(), vec!["a".to_owned(), "b".to_owned()]),
                ("\"x, \"\"y\"\"\nz\",c".to_owned(), vec!["x, \"y\"\nz".to_owned(), "c".to_owned()]),
                ("  d ,e".to_owned(), vec!["  d ".to_owned(), "e".to_owned()]),
            ]
        );
    }

    #[test]
    fn a_last_record_without_terminator_is_kept() {
        let got = split_all(b"a,b\nc,d");
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].raw, b"c,d");
    }

    #[test]
    fn pieces_of_any_size_give_the_same_records() {
        let input = b"ID,X\n1,\"multi\nline, with comma\"\r\n2,plain\n\"3\",\"\"\"quoted\"\"\"\n";
        let whole = split_all(input);
        for size in [1, 2, 3, 5, 7, 64] {
            let mut s = RecordSplitter::new();
            let mut out = Vec::new();
            for piece in input.chunks(size) {
                s.feed(piece, &mut out);
            }
            s.finish(&mut out);
            assert_eq!(out, whole, "pieces of {size}");
        }
    }

    #[test]
    fn huge_fields_and_many_columns_are_bounded() {
        let mut input = b"a,".to_vec();
        input.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
        input.extend_from_slice(b"\nnext,row\n");
        let got = split_all(&input);
        assert_eq!(got.len(), 2);
        assert!(got[0].too_long);
        assert_eq!(got[0].field_count, 2);
        assert!(got[0].raw.len() <= MAX_RECORD_BYTES);
        assert_eq!(got[1].fields, vec![b"next".to_vec(), b"row".to_vec()]);

        let wide = vec!["c"; 10_000].join(",") + "\nok,1\n";
        let got = split_all(wide.as_bytes());
        assert_eq!(got[0].field_count, 10_000);
        assert!(got[0].fields.is_empty() && !got[0].too_long);
        assert_eq!(got[1].field_count, 2);
    }

    /// One splitter reused for many inputs gives each the records a fresh one would, whatever
    /// the input before it left unfinished (an open quote, a record cut short).
    #[test]
    fn a_reused_splitter_starts_each_input_afresh() {
        let inputs: [&[u8]; 5] = [b"a,\"open", b"\xef\xbb\xbfx,y\r\n", b"1,2,3", b"", b"\"q,\"\"z\"\"\",w\nnext"];
        let mut reused = RecordSplitter::new();
        for input in inputs {
            assert_eq!(texts(&reused.split(input)), texts(&split_all(input)), "{input:?}");
        }
        let long = vec![b'x'; MAX_RECORD_BYTES + 10];
        assert!(reused.split(&long)[0].too_long);
        assert_eq!(texts(&reused.split(b"p,q")), vec![("p,q".to_owned(), vec!["p".to_owned(), "q".to_owned()])]);
    }

    #[test]
    fn empty_input_has_no_records() {
        assert!(split_all(b"").is_empty());
        assert!(split_all(b"\n\r\n\n").is_empty());
    }

    #[test]
    fn non_utf8_bytes_pass_through_untouched() {
        let got = split_all(b"caf\xe9,x\n");
        assert_eq!(got[0].fields[0], b"caf\xe9");
    }
}
