//! A deterministic import file of any length whose later rows meet earlier ones across chunk
//! boundaries, and the registry records its TRNs need.
//!
//! Row `i` is, by the first rule that applies:
//! - every 97th: an impossible date of birth (Invalid);
//! - every 7th (after row 60): row `i - 53`'s email under a new ID (None, the same person);
//! - every 11th (after row 80): row `i - 77`'s nickname, surname and date of birth with another
//!   email (Invalid, potential duplicate);
//! - every 17th (after row 100): row `i - 60`'s email with a TRN (UserUpdated when that person
//!   has none yet);
//! - every 13th: a TRN and no names (UserAdded with the registry's names);
//! - otherwise a new person (UserAdded).

use crate::support::HEADER;

pub const REGISTRY_HEADER: &str = "TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,DATE_OF_BIRTH";

/// First names and a nickname of each, from the synonym table.
const NAMES: [(&str, &str); 10] = [
    ("Robert", "Bob"),
    ("William", "Bill"),
    ("Margaret", "Maggie"),
    ("Elizabeth", "Liz"),
    ("Thomas", "Tom"),
    ("Katherine", "Kate"),
    ("James", "Jim"),
    ("Richard", "Dick"),
    ("Jennifer", "Jenny"),
    ("Michael", "Mike"),
];

pub struct Generated {
    pub users: String,
    pub registry: String,
}

fn first(i: usize) -> &'static str {
    NAMES[i % NAMES.len()].0
}

fn nickname(i: usize) -> &'static str {
    NAMES[i % NAMES.len()].1
}

fn date_of_birth(i: usize) -> String {
    format!("{:02}{:02}{}", i % 28 + 1, i % 12 + 1, 1950 + i % 50)
}

fn trn(i: usize) -> String {
    format!("{}", 2_000_000 + i)
}

pub fn generate(rows: usize) -> Generated {
    let mut users = format!("{HEADER}\n");
    let mut registry = format!("{REGISTRY_HEADER}\n");
    for i in 1..=rows {
        let line = if i % 97 == 0 {
            format!("g-{i},p{i}@example.org,,{},,Surname{i},,31022001", first(i))
        } else if i > 60 && i % 7 == 0 {
            let j = i - 53;
            format!("g-{i},p{j}@example.org,,{},,Surname{j},,{}", first(j), date_of_birth(j))
        } else if i > 80 && i % 11 == 0 {
            let j = i - 77;
            format!("g-{i},nick{i}@example.org,,{},,Surname{j},,{}", nickname(j), date_of_birth(j))
        } else if i > 100 && i % 17 == 0 {
            let j = i - 60;
            registry.push_str(&format!("{},{},,Surname{j},{}\n", trn(i), first(j), date_of_birth(j)));
            format!("g-{i},P{j}@Example.org,{},,,,,{}", trn(i), date_of_birth(j))
        } else if i % 13 == 0 {
            registry.push_str(&format!("{},{},Middle,Surname{i},{}\n", trn(i), first(i), date_of_birth(i)));
            format!("g-{i},p{i}@example.org,{},,,,Pref{i},{}", trn(i), date_of_birth(i))
        } else {
            format!("g-{i},p{i}@example.org,,{},,Surname{i},,{}", first(i), date_of_birth(i))
        };
        users.push_str(&line);
        users.push('\n');
    }
    Generated { users, registry }
}
