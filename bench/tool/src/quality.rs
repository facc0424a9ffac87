//! `identity-bench match-quality`: labelled people, some recorded twice with the differences
//! real records have, some with a stranger who shares their names and birthday; the matcher's
//! review queue over them (blocking keys, then scores), as precision and recall against the
//! labels, beside the seed's exact rule. Pure: no database.

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use identity_core::matcher::{blocking_keys, compare, Person, THRESHOLD};
use identity_core::nicknames::Nicknames;

/// The kinds of second record, with their share of the people recorded twice (percent).
const KINDS: [(&str, u64); 9] = [
    ("the same details, another email", 15),
    ("a nickname", 15),
    ("a typing slip in a name", 20),
    ("day and month swapped", 8),
    ("a digit off in the date of birth", 8),
    ("first and last name swapped", 8),
    ("a changed last name, the same email", 8),
    ("a changed last name, another email", 8),
    ("a nickname and a typing slip", 10),
];

const FIRST: [&str; 40] = [
    "Robert",
    "William",
    "Margaret",
    "James",
    "Thomas",
    "David",
    "Daniel",
    "Samuel",
    "Elizabeth",
    "Katherine",
    "Jonathan",
    "Michael",
    "Christopher",
    "Alexander",
    "Victoria",
    "Rebecca",
    "Jennifer",
    "Patricia",
    "Richard",
    "Joseph",
    "Ann",
    "Priya",
    "Mohammed",
    "Olivia",
    "Aisha",
    "Chloe",
    "Zoe",
    "Grace",
    "Oluwaseun",
    "Siobhan",
    "Wei",
    "Fatima",
    "Ahmed",
    "Amelia",
    "Isla",
    "Harry",
    "Oliver",
    "George",
    "Noah",
    "Leo",
];

/// A nickname the shipped table has for some common first names (this file's `FIRST` and the
/// import files').
pub fn nickname(first: &str) -> Option<&'static str> {
    Some(match first {
        "Robert" => "Bob",
        "William" => "Bill",
        "Margaret" => "Peggy",
        "James" => "Jim",
        "Thomas" => "Tom",
        "David" => "Dave",
        "Daniel" => "Dan",
        "Samuel" => "Sam",
        "Elizabeth" => "Liz",
        "Katherine" => "Kate",
        "Jonathan" => "Jon",
        "Michael" => "Mike",
        "Christopher" => "Chris",
        "Alexander" => "Alex",
        "Victoria" => "Vicky",
        "Rebecca" => "Becky",
        "Jennifer" => "Jenny",
        "Patricia" => "Pat",
        "Richard" => "Dick",
        "Joseph" => "Joe",
        _ => return None,
    })
}

const LAST_STEMS: [&str; 30] = [
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Robinson", "Wright",
    "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke", "Khan", "Okafor",
    "Nowak", "Murphy", "Campbell", "Kowalski", "Nguyen", "Ahmed", "O'Brien",
];

const LAST_MIDDLES: [&str; 10] = ["", "er", "ing", "an", "ow", "el", "ar", "in", "ey", "ot"];

const LAST_ENDINGS: [&str; 12] = ["", "son", "ley", "ford", "ton", "well", "by", "ham", "wood", "field", "more", "s"];

/// One of 3,600 last names, evenly spread (real surnames are far more varied at the tail, and
/// far less even at the head).
fn last_name(dice: &mut Dice) -> String {
    format!("{}{}{}", dice.pick(&LAST_STEMS), dice.pick(&LAST_MIDDLES), dice.pick(&LAST_ENDINGS))
}

/// The `n`th person of a population of distinct people: a first name and a last name from the
/// generator's tables and a birthday within 50 years, drawn for `n` alone, so strangers share
/// names and birthdays only by chance, as they do in a department.
pub fn stranger(n: usize) -> (String, String, NaiveDate) {
    let mut dice = Dice(0x5eed_0000 ^ (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let first = dice.pick(&FIRST).to_owned();
    let last = last_name(&mut dice);
    let day = NaiveDate::from_ymd_opt(1955, 1, 1).unwrap_or_default() + chrono::Days::new(dice.below(50 * 365) as u64);
    (first, last, day)
}

/// A small, fixed pseudo-random sequence (splitmix64): the same people for the same seed.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn percent(&mut self, p: u64) -> bool {
        self.next() % 100 < p
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}

/// A record as a source holds it.
#[derive(Debug, Clone)]
struct Record {
    first: String,
    last: String,
    dob: NaiveDate,
    email: String,
    trn: Option<String>,
}

impl Record {
    fn person(&self) -> Person {
        let p = Person::new(&self.first, &self.last, Some(self.dob)).with_email(&self.email);
        match &self.trn {
            Some(t) => p.with_trn(t),
            None => p,
        }
    }
}

/// One typing slip: two neighbours swapped, a letter dropped, or one doubled.
fn slip(name: &str, dice: &mut Dice) -> String {
    let mut c: Vec<char> = name.chars().collect();
    if c.len() < 4 {
        c.push(c[c.len() - 1]);
        return c.into_iter().collect();
    }
    let i = 1 + dice.below(c.len() - 2);
    match dice.below(3) {
        0 => c.swap(i, i + 1),
        1 => {
            c.remove(i);
        }
        _ => c.insert(i, c[i]),
    }
    c.into_iter().collect()
}

fn digit_off(d: NaiveDate, dice: &mut Dice) -> NaiveDate {
    loop {
        let candidate = match dice.below(3) {
            0 => d.with_day(if d.day() % 10 == 9 { d.day() - 1 } else { d.day() + 1 }),
            1 => d.with_year(d.year() + if d.year() % 10 == 9 { -1 } else { 1 }),
            _ => d.with_day(if d.day() > 10 && d.day() <= 19 { d.day() - 10 } else { d.day() + 10 }),
        };
        if let Some(c) = candidate.filter(|c| *c != d) {
            return c;
        }
    }
}

/// The second record of `r`, of kind `kind` (an index into `KINDS`).
fn second(r: &Record, kind: usize, n: usize, dice: &mut Dice) -> Record {
    let mut s = Record { email: format!("second{n}@service.example"), ..r.clone() };
    let nick = |first: &str| nickname(first).map_or_else(|| first.to_owned(), str::to_owned);
    match kind {
        0 => {}
        1 => s.first = nick(&r.first),
        2 => {
            if dice.percent(50) {
                s.first = slip(&r.first, dice);
            } else {
                s.last = slip(&r.last, dice);
            }
        }
        3 => {
            s.dob = if r.dob.day() <= 12 && r.dob.day() != r.dob.month() {
                NaiveDate::from_ymd_opt(r.dob.year(), r.dob.day(), r.dob.month()).unwrap_or(r.dob)
            } else {
                digit_off(r.dob, dice)
            };
        }
        4 => s.dob = digit_off(r.dob, dice),
        5 => (s.first, s.last) = (r.last.clone(), r.first.clone()),
        6 => {
            s.last = last_name(dice);
            s.email.clone_from(&r.email);
        }
        7 => s.last = last_name(dice),
        _ => {
            s.first = nick(&r.first);
            s.last = slip(&r.last, dice);
        }
    }
    // A registry record follows the person to half of their second records.
    if s.trn.is_some() && dice.percent(50) {
        s.trn = None;
    }
    s
}

/// The seed's rule: the same email, the same TRN, or the same last name and date of birth with
/// first names that are nicknames of one another.
fn seed_rule(a: &Person, b: &Person, nicknames: &Nicknames) -> bool {
    (a.email.is_some() && a.email == b.email)
        || (a.trn.is_some() && a.trn == b.trn)
        || (a.last_name == b.last_name
            && a.date_of_birth == b.date_of_birth
            && nicknames.are_synonym_keys(&a.first_name, &b.first_name))
}

pub struct Report {
    pub text: String,
}

/// Makes `people` people (about half recorded twice, 2% with a namesake), runs the matcher over
/// them and reports.
pub fn run(people: usize, seed: u64) -> Report {
    let started = std::time::Instant::now();
    let mut dice = Dice(seed);
    let mut records: Vec<Record> = Vec::new();
    // (first record, second record, kind) for every person recorded twice.
    let mut twins: Vec<(usize, usize, usize)> = Vec::new();
    // (person, namesake) for every stranger who shares a person's names and birthday.
    let mut namesakes: HashSet<(usize, usize)> = HashSet::new();
    let total: u64 = KINDS.iter().map(|(_, share)| share).sum();
    for n in 0..people {
        let day =
            NaiveDate::from_ymd_opt(1955, 1, 1).unwrap_or_default() + chrono::Days::new(dice.below(50 * 365) as u64);
        let r = Record {
            first: dice.pick(&FIRST).to_owned(),
            last: last_name(&mut dice),
            dob: day,
            email: format!("person{n}@work.example"),
            trn: dice.percent(30).then(|| format!("{}", 1_000_000 + n)),
        };
        let first = records.len();
        records.push(r.clone());
        if dice.percent(50) {
            let mut roll = dice.next() % total;
            let kind = KINDS.iter().position(|(_, share)| {
                let hit = roll < *share;
                roll = roll.saturating_sub(*share);
                hit
            });
            let kind = kind.unwrap_or(0);
            records.push(second(&r, kind, n, &mut dice));
            twins.push((first, records.len() - 1, kind));
        } else if dice.percent(4) {
            // A stranger with the same names and birthday (their own email and TRN, if any).
            let trn = dice.percent(30).then(|| format!("{}", 5_000_000 + n));
            records.push(Record { email: format!("namesake{n}@other.example"), trn, ..r });
            namesakes.insert((first, records.len() - 1));
        }
    }
    let generated = started.elapsed();

    let nicknames = Nicknames::built_in();
    let persons: Vec<Person> = records.iter().map(Record::person).collect();
    let mut blocks: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, p) in persons.iter().enumerate() {
        for key in blocking_keys(p) {
            blocks.entry(key).or_default().push(i);
        }
    }
    let mut pairs: HashSet<(usize, usize)> = HashSet::new();
    for members in blocks.values() {
        for (x, &i) in members.iter().enumerate() {
            for &j in &members[x + 1..] {
                pairs.insert((i.min(j), i.max(j)));
            }
        }
    }
    let truth: HashMap<(usize, usize), usize> = twins.iter().map(|(a, b, k)| ((*a, *b), *k)).collect();
    let scored: Vec<((usize, usize), f64, bool)> = pairs
        .iter()
        .map(|&(i, j)| {
            let m = compare(&persons[i], &persons[j], nicknames);
            ((i, j), m.score, seed_rule(&persons[i], &persons[j], nicknames))
        })
        .collect();
    let matched = started.elapsed() - generated;

    let measure = |queued: &dyn Fn(f64, bool) -> bool| {
        let found: Vec<&(usize, usize)> = scored.iter().filter(|(_, s, r)| queued(*s, *r)).map(|(p, ..)| p).collect();
        let right = found.iter().filter(|p| truth.contains_key(p)).count();
        let precision = if found.is_empty() { 1.0 } else { right as f64 / found.len() as f64 };
        (precision, right as f64 / truth.len().max(1) as f64, found.len())
    };
    let mut text = String::new();
    let line = |text: &mut String, s: String| {
        text.push_str(&s);
        text.push('\n');
    };
    line(
        &mut text,
        format!(
            "{} records of {people} people: {} recorded twice, {} pairs compared (of {} possible), in {:.2} s",
            records.len(),
            twins.len(),
            pairs.len(),
            records.len() * (records.len() - 1) / 2,
            matched.as_secs_f64()
        ),
    );
    line(&mut text, String::new());
    line(&mut text, "| queue | precision | recall | pairs queued |".to_owned());
    line(&mut text, "|---|---|---|---|".to_owned());
    for threshold in [0.6, 0.7, THRESHOLD, 0.85, 0.9] {
        let (p, r, n) = measure(&|s, _| s >= threshold);
        let mark = if (threshold - THRESHOLD).abs() < f64::EPSILON { " (the threshold)" } else { "" };
        line(&mut text, format!("| matcher, score ≥ {threshold:.2}{mark} | {p:.3} | {r:.3} | {n} |"));
    }
    let (p, r, n) = measure(&|_, seed| seed);
    line(&mut text, format!("| the seed's exact rule | {p:.3} | {r:.3} | {n} |"));
    let wrong: Vec<&(usize, usize)> =
        scored.iter().filter(|(p, s, _)| *s >= THRESHOLD && !truth.contains_key(p)).map(|(p, ..)| p).collect();
    let of_namesakes = wrong.iter().filter(|p| namesakes.contains(p)).count();
    line(&mut text, String::new());
    line(
        &mut text,
        format!(
            "At the threshold, {} pairs queued wrongly: {of_namesakes} of them a person and their namesake ({} namesakes \
             in all; only two different TRNs tell them apart), {} strangers with alike names and dates.",
            wrong.len(),
            namesakes.len(),
            wrong.len() - of_namesakes
        ),
    );
    line(&mut text, String::new());
    line(&mut text, "| second record | pairs | matcher's recall | seed rule's recall |".to_owned());
    line(&mut text, "|---|---|---|---|".to_owned());
    let by_pair: HashMap<(usize, usize), (f64, bool)> = scored.iter().map(|(p, s, r)| (*p, (*s, *r))).collect();
    for (k, (kind, _)) in KINDS.iter().enumerate() {
        let of_kind: Vec<&(usize, usize, usize)> = twins.iter().filter(|t| t.2 == k).collect();
        let hit = |f: &dyn Fn(f64, bool) -> bool| {
            of_kind.iter().filter(|t| by_pair.get(&(t.0, t.1)).is_some_and(|(s, r)| f(*s, *r))).count() as f64
                / of_kind.len().max(1) as f64
        };
        line(
            &mut text,
            format!("| {kind} | {} | {:.3} | {:.3} |", of_kind.len(), hit(&|s, _| s >= THRESHOLD), hit(&|_, r| r)),
        );
    }
    Report { text }
}
