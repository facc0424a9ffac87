//! Table-driven tests of the field rules and of every branch of the flowchart.

use super::rules::notes;
use super::*;
use crate::nicknames::Nicknames;
use crate::profile::{DateOfBirth, Trn};
use crate::registry::RegistryRecord;
use crate::user::UserId;

const HEADER: &str = "ID,EMAIL_ADDRESS,TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,PREFERRED_NAME,DATE_OF_BIRTH";

fn header() -> Header {
    Header::from_line(HEADER).unwrap()
}

fn registry(trn: &str) -> RegistryRecord {
    RegistryRecord {
        trn: Trn::parse(trn).unwrap(),
        first_name: "Robert".into(),
        middle_name: Some("James".into()),
        last_name: "Smith".into(),
        date_of_birth: DateOfBirth::parse_ddmmyyyy("01021980").unwrap(),
    }
}

/// Checks a row given as 8 comma-separated values; the registry knows TRN 1234567.
fn check_line(line: &str) -> Result<ValidRow, Vec<String>> {
    let cells: Vec<&str> = line.split(',').collect();
    let fields = Fields::new(&header(), &cells).unwrap();
    let known = registry("1234567");
    let found = fields.trn().filter(|t| *t == known.trn).map(|_| known.clone());
    check(&fields, found.as_ref())
}

fn notes_of(line: &str) -> Vec<String> {
    check_line(line).err().unwrap_or_default()
}

#[test]
fn a_complete_row_without_trn_is_valid_and_trimmed() {
    let row = check_line(" A1 , Ann@Example.org ,,Ann,,Lee, Annie ,03051971").unwrap();
    assert_eq!(row.id, "A1");
    assert_eq!(row.email.as_str(), "Ann@Example.org");
    assert_eq!((row.first_name(), row.last_name()), ("Ann", "Lee"));
    assert_eq!(row.preferred_name.as_deref(), Some("Annie"));
    assert_eq!(row.middle_name, None);
    assert!(row.trn.is_none() && row.registry.is_none());
}

#[test]
fn a_row_with_a_known_trn_takes_the_registry_names() {
    let row = check_line("A1,a@b.co,1234567,,,,,03051971").unwrap();
    assert_eq!((row.first_name(), row.last_name()), ("Robert", "Smith"));
    assert_eq!(row.registry.unwrap().middle_name.as_deref(), Some("James"));
}

#[test]
fn every_field_rule_gives_its_own_note() {
    let long = |n: usize| "x".repeat(n);
    let cases: Vec<(String, Vec<String>)> = vec![
        (",a@b.co,,A,,B,,01011990".into(), vec![notes::ID_EMPTY.into()]),
        ("   ,a@b.co,,A,,B,,01011990".into(), vec![notes::ID_EMPTY.into()]),
        (format!("{},a@b.co,,A,,B,,01011990", long(101)), vec![notes::ID_TOO_LONG.into()]),
        (format!("{},a@b.co,,A,,B,,01011990", long(100)), vec![]),
        ("1,,,A,,B,,01011990".into(), vec![notes::EMAIL_EMPTY.into()]),
        (format!("1,a@{0}.{0}.{0}.abcd.co,,A,,B,,01011990", long(63)), vec![notes::EMAIL_TOO_LONG.into()]),
        (
            format!("1,{}@b.co,,A,,B,,01011990", long(196)),
            vec![notes::EMAIL_TOO_LONG.into(), notes::EMAIL_FORMAT.into()],
        ),
        ("1,not-an-email,,A,,B,,01011990".into(), vec![notes::EMAIL_FORMAT.into()]),
        ("1,a@localhost,,A,,B,,01011990".into(), vec![notes::EMAIL_FORMAT.into()]),
        ("1,a@b.co,12345,,,,,01011990".into(), vec![notes::TRN_FORMAT.into()]),
        ("1,a@b.co,abcdefg,,,,,01011990".into(), vec![notes::TRN_FORMAT.into()]),
        ("1,a@b.co,7654321,,,,,01011990".into(), vec![notes::TRN_NOT_IN_REGISTRY.into()]),
        ("1,a@b.co,,,,B,,01011990".into(), vec!["FIRST_NAME field is empty".into()]),
        ("1,a@b.co,,A,,,,01011990".into(), vec!["LAST_NAME field is empty".into()]),
        (
            format!("1,a@b.co,,{},,B,,01011990", long(201)),
            vec!["FIRST_NAME field should have a maximum of 200 characters".into()],
        ),
        (
            format!("1,a@b.co,,A,{},B,,01011990", long(201)),
            vec!["MIDDLE_NAME field should have a maximum of 200 characters".into()],
        ),
        (
            format!("1,a@b.co,,A,,{},,01011990", long(201)),
            vec!["LAST_NAME field should have a maximum of 200 characters".into()],
        ),
        (
            "1,a@b.co,1234567,A,M,B,,01011990".into(),
            vec![
                "FIRST_NAME field must be empty when TRN field is specified".into(),
                "MIDDLE_NAME field must be empty when TRN field is specified".into(),
                "LAST_NAME field must be empty when TRN field is specified".into(),
            ],
        ),
        (format!("1,a@b.co,,A,,B,{},01011990", long(201)), vec![notes::PREFERRED_NAME_TOO_LONG.into()]),
        ("1,a@b.co,,A,,B,,".into(), vec![notes::DOB_EMPTY.into()]),
        ("1,a@b.co,,A,,B,,00011900".into(), vec![notes::DOB_FORMAT.into()]),
        ("1,a@b.co,,A,,B,,31022000".into(), vec![notes::DOB_FORMAT.into()]),
        ("1,a@b.co,,A,,B,,1990-01-01".into(), vec![notes::DOB_FORMAT.into()]),
    ];
    for (line, expected) in cases {
        assert_eq!(notes_of(&line), expected, "{line}");
    }
}

#[test]
fn all_failing_rules_are_reported_in_order() {
    assert_eq!(
        notes_of(",bad,12,,,,,00011900"),
        vec![notes::ID_EMPTY, notes::EMAIL_FORMAT, notes::TRN_FORMAT, notes::DOB_FORMAT,]
    );
    assert_eq!(
        notes_of(",,,,,,,"),
        vec![
            notes::ID_EMPTY,
            notes::EMAIL_EMPTY,
            "FIRST_NAME field is empty",
            "LAST_NAME field is empty",
            notes::DOB_EMPTY
        ]
    );
}

#[test]
fn unreadable_records_get_one_note() {
    let rec = |line: &[u8]| records::split_all(line).remove(0);
    assert_eq!(record_problem(&rec(b"1,a@b.co,,A,,B,01011990")), Some(notes::FIELDS_LESS));
    assert_eq!(record_problem(&rec(b"1,a@b.co,,A,,B,,01011990,extra")), Some(notes::FIELDS_MORE));
    assert_eq!(record_problem(&rec(b"1,caf\xe9@b.co,,A,,B,,01011990")), Some(notes::NOT_UTF8));
    assert_eq!(record_problem(&rec(b"1,a@b.co,,A,,B,,01011990")), None);
    let mut long = b"1,a@b.co,,A,,".to_vec();
    long.extend(std::iter::repeat_n(b'x', 70_000));
    long.extend_from_slice(b",,01011990");
    assert_eq!(record_problem(&rec(&long)), Some(notes::TOO_LONG));
}

fn valid(line: &str) -> ValidRow {
    check_line(line).unwrap()
}

fn existing(trn: Option<&str>) -> ExistingUser {
    ExistingUser { id: UserId::random(), trn: trn.map(|t| Trn::parse(t).unwrap()) }
}

fn facts<'a>(by_email: Option<&'a ExistingUser>, trn_holder: Option<UserId>, candidates: &'a [Candidate]) -> Facts<'a> {
    Facts { linked: None, by_email, trn_holder, candidates }
}

#[test]
fn every_branch_of_the_flowchart() {
    let nick = Nicknames::built_in();
    let no_trn = valid("1,bob@x.org,,Bob,,Smith,,01021980");
    let with_trn = valid("1,bob@x.org,1234567,,,,,01021980");
    let someone = UserId::random();

    // Email match, no TRN in the row: nothing to do.
    let e = existing(None);
    let d = decide(&no_trn, facts(Some(&e), None, &[]), nick);
    assert_eq!(
        (d.outcome, d.action, d.notes.clone()),
        (Outcome::None, Action::Link(e.id), vec![notes::EMAIL_EXISTS.to_owned()])
    );

    // Email match, TRN in the row, user has none, nobody holds it: update TRN and names.
    let d = decide(&with_trn, facts(Some(&e), None, &[]), nick);
    assert_eq!((d.outcome, d.action), (Outcome::UserUpdated, Action::UpdateTrn(e.id)));
    assert_eq!(d.notes, vec![notes::UPDATED_TRN_AND_NAME]);

    // ... but another user holds that TRN.
    let d = decide(&with_trn, facts(Some(&e), Some(someone), &[]), nick);
    assert_eq!(d.outcome, Outcome::Invalid);
    assert_eq!(d.notes, vec![notes::TRN_EXISTS_DIFFERENT_EMAIL.to_owned(), decide::existing_user_note(someone)]);
    assert_eq!(d.action, Action::Nothing);

    // Email match, same TRN: nothing to do.
    let same = existing(Some("1234567"));
    let d = decide(&with_trn, facts(Some(&same), Some(same.id), &[]), nick);
    assert_eq!((d.outcome, d.action), (Outcome::None, Action::Link(same.id)));

    // Email match, different TRN.
    let other = existing(Some("7654321"));
    let d = decide(&with_trn, facts(Some(&other), None, &[]), nick);
    assert_eq!(d.outcome, Outcome::Invalid);
    assert_eq!(d.notes, vec![notes::EMAIL_EXISTS_DIFFERENT_TRN.to_owned(), decide::existing_user_note(other.id)]);

    // No email match, a potential duplicate by synonym: Robert (registry) ~ Bob.
    let dup = [Candidate { id: someone, first_name: "Bob".into() }];
    let d = decide(&with_trn, facts(None, None, &dup), nick);
    let nickname = "a nickname of the first name, the same last name and date of birth";
    assert_eq!(
        d.notes,
        vec![notes::POTENTIAL_DUPLICATE.to_owned(), format!("{}: {nickname}", decide::existing_user_note(someone))]
    );
    // Every candidate the rule fires on is named, in order, with how its first name matched;
    // one whose first name is no synonym is left out.
    let (second, third) = (UserId::random(), UserId::random());
    let several = [
        Candidate { id: someone, first_name: "Robert".into() },
        Candidate { id: second, first_name: "Zoe".into() },
        Candidate { id: third, first_name: "Bobby".into() },
    ];
    let d = decide(&with_trn, facts(None, None, &several), nick);
    assert_eq!(
        d.notes,
        vec![
            notes::POTENTIAL_DUPLICATE.to_owned(),
            format!("{}: the same first name, last name and date of birth", decide::existing_user_note(someone)),
            format!("{}: {nickname}", decide::existing_user_note(third)),
        ]
    );
    let d = decide(&no_trn, facts(None, None, &[Candidate { id: someone, first_name: "BOB".into() }]), nick);
    assert_eq!(d.outcome, Outcome::Invalid);

    // A candidate whose first name is no synonym is not a duplicate.
    let not_dup = [Candidate { id: someone, first_name: "William".into() }];
    assert_eq!(decide(&with_trn, facts(None, None, &not_dup), nick).outcome, Outcome::UserAdded);

    // No email match, no duplicate, TRN held by someone.
    let d = decide(&with_trn, facts(None, Some(someone), &[]), nick);
    assert_eq!(d.notes, vec![notes::TRN_EXISTS.to_owned(), decide::existing_user_note(someone)]);

    // Duplicate is checked before the TRN holder (flowchart order).
    let d = decide(&with_trn, facts(None, Some(UserId::random()), &dup), nick);
    assert_eq!(d.notes[0], notes::POTENTIAL_DUPLICATE);

    // Nothing matches: add.
    let d = decide(&no_trn, facts(None, None, &[]), nick);
    assert_eq!((d.outcome, d.action, d.notes.len()), (Outcome::UserAdded, Action::AddUser, 0));
}

#[test]
fn a_linked_row_answers_none_with_its_user_whatever_else_matches() {
    let row = valid("1,bob@x.org,1234567,,,,,01021980");
    let linked = UserId::random();
    let other = existing(Some("7654321"));
    let f = Facts { linked: Some(linked), by_email: Some(&other), trn_holder: None, candidates: &[] };
    let d = decide(&row, f, Nicknames::built_in());
    assert_eq!((d.outcome, d.action, d.notes.len()), (Outcome::None, Action::Link(linked), 0));
}

#[test]
fn accents_and_case_do_not_hide_duplicates() {
    let row = valid("1,zoe@x.org,,ZOE,,NG,,01021980");
    let c = [Candidate { id: UserId::random(), first_name: "Zoë".into() }];
    assert_eq!(decide(&row, facts(None, None, &c), Nicknames::built_in()).outcome, Outcome::Invalid);
}
