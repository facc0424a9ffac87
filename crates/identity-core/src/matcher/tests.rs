use std::collections::HashSet;

use chrono::NaiveDate;

use super::*;

fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

fn person(first: &str, last: &str, dob: Option<NaiveDate>) -> Person {
    Person::new(first, last, dob)
}

fn compared(a: &Person, b: &Person) -> Match {
    compare(a, b, Nicknames::built_in())
}

fn rules(m: &Match) -> Vec<(Rule, MatchField)> {
    m.reasons.iter().map(|r| (r.rule, r.field)).collect()
}

/// Whether the two share a blocking key, so that a scan would compare them at all.
fn blocked_together(a: &Person, b: &Person) -> bool {
    let keys: HashSet<String> = blocking_keys(a).into_iter().collect();
    blocking_keys(b).iter().any(|k| keys.contains(k))
}

const DOB: (i32, u32, u32) = (1990, 3, 2);

fn dob() -> Option<NaiveDate> {
    date(DOB.0, DOB.1, DOB.2)
}

#[test]
fn the_same_record_scores_one_with_a_reason_per_field() {
    let a = person("Ann", "Lee", dob());
    let m = compared(&a, &person(" ANN ", "lee", dob()));
    assert!((m.score - 1.0).abs() < f64::EPSILON);
    assert_eq!(
        rules(&m),
        [
            (Rule::SameName, MatchField::FirstName),
            (Rule::SameName, MatchField::LastName),
            (Rule::SameDateOfBirth, MatchField::DateOfBirth)
        ]
    );
    assert_eq!(m.reasons[0].to_string(), "first name: 'ann' in both");
}

#[test]
fn each_kind_of_difference_has_its_rule_and_stays_a_candidate() {
    let a = person("Robert", "Alexander", dob());
    let cases = [
        (person("Bob", "Alexander", dob()), Rule::Nickname, MatchField::FirstName),
        (person("Robert", "Alexnader", dob()), Rule::Typo, MatchField::LastName),
        (person("Robert", "Alexandra", dob()), Rule::Similar, MatchField::LastName),
        (person("Alexander", "Robert", dob()), Rule::FirstAndLastSwapped, MatchField::Name),
        (person("Robert", "Alexander", date(1990, 2, 3)), Rule::DayAndMonthSwapped, MatchField::DateOfBirth),
        (person("Robert", "Alexander", date(1990, 3, 12)), Rule::OneDigitOff, MatchField::DateOfBirth),
        (person("Robert", "Alexander", date(1980, 3, 2)), Rule::OneDigitOff, MatchField::DateOfBirth),
    ];
    for (b, rule, field) in cases {
        let m = compared(&a, &b);
        assert!(rules(&m).contains(&(rule, field)), "{b:?}: {m:?}");
        assert!(m.is_candidate(), "{b:?}: {m:?}");
        assert!(m.score < 1.0, "a difference costs something: {b:?}");
        assert!(blocked_together(&a, &b), "a scan compares {a:?} with {b:?}");
        assert_eq!(m.score.to_bits(), compared(&b, &a).score.to_bits(), "symmetric: {b:?}");
    }
}

#[test]
fn a_surname_that_sounds_alike_is_named_with_its_code() {
    let m = compared(&person("Ann", "Robert", dob()), &person("Ann", "Rupert", dob()));
    let reason = m.reasons.iter().find(|r| r.rule == Rule::SoundsAlike).expect("sounds alike");
    assert_eq!(reason.to_string(), "last name: 'robert' sounds like 'rupert' (R163)");
    assert!(m.is_candidate());
}

#[test]
fn the_reasons_say_what_matched_in_words() {
    let m = compared(&person("Bob", "Lee", dob()), &person("Robert", "Lee", date(1990, 2, 3)));
    let words: Vec<String> = m.reasons.iter().map(ToString::to_string).collect();
    assert_eq!(
        words,
        [
            "first name: 'bob' and 'robert' are nicknames of one name",
            "last name: 'lee' in both",
            "date of birth: 1990-03-02 and 1990-02-03 have day and month swapped"
        ]
    );
}

#[test]
fn more_differences_score_lower() {
    let a = person("Robert", "Alexander", dob());
    let one = compared(&a, &person("Bob", "Alexander", dob())).score;
    let two = compared(&a, &person("Bob", "Alexnader", dob())).score;
    let three = compared(&a, &person("Bob", "Alexnader", date(1990, 2, 3))).score;
    assert!(1.0 > one && one > two && two > three, "{one} {two} {three}");
}

#[test]
fn strangers_score_low_with_no_reasons() {
    let a = person("Ann", "Lee", dob());
    for b in [
        person("Zoe", "Patel", dob()),
        person("Ann", "Lee", date(1971, 11, 30)),
        person("Mohammed", "Okafor", date(2001, 7, 7)),
    ] {
        let m = compared(&a, &b);
        assert!(!m.is_candidate(), "{b:?}: {m:?}");
    }
    assert!(compared(&a, &person("Zoe", "Patel", dob())).reasons.is_empty());
}

#[test]
fn a_changed_last_name_alone_is_not_enough() {
    let m = compared(&person("Ann", "Lee", dob()), &person("Ann", "Okafor", dob()));
    assert!(!m.is_candidate(), "{m:?}");
    assert!(blocked_together(&person("Ann", "Lee", dob()), &person("Ann", "Okafor", dob())));
    // With the same email address, it is.
    let m = compared(
        &person("Ann", "Lee", dob()).with_email("ann@example.org"),
        &person("Ann", "Okafor", dob()).with_email("Ann@Example.org"),
    );
    assert!(m.is_candidate(), "{m:?}");
    assert!(rules(&m).contains(&(Rule::SameEmail, MatchField::Email)));
}

#[test]
fn a_shared_trn_is_near_certain_and_two_trns_are_two_people() {
    let a = person("Ann", "Lee", dob()).with_trn("1234567");
    let m = compared(&a, &person("Anna", "Smith", date(1985, 1, 1)).with_trn("1234567"));
    assert!(m.score >= 0.98 && m.is_candidate(), "{m:?}");
    assert!(blocked_together(&a, &person("X", "Y", None).with_trn("1234567")));
    let m = compared(&a, &person("Ann", "Lee", dob()).with_trn("7654321"));
    assert!(!m.is_candidate(), "the same name and birthday, but two TRNs: {m:?}");
    assert_eq!(rules(&m).last(), Some(&(Rule::DifferentTrn, MatchField::Trn)));
}

#[test]
fn a_missing_date_of_birth_lowers_the_score_without_a_reason() {
    let m = compared(&person("Ann", "Lee", None), &person("Ann", "Lee", dob()));
    assert!(m.score < 1.0 && !m.is_candidate(), "{m:?}");
    assert!(!rules(&m).iter().any(|(_, f)| *f == MatchField::DateOfBirth));
}

#[test]
fn blocking_keys_do_not_join_strangers() {
    let a = person("Ann", "Lee", dob());
    assert!(!blocked_together(&a, &person("Zoe", "Patel", date(1971, 11, 30))));
    assert!(blocking_keys(&Person::default()).is_empty());
}
