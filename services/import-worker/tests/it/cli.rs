//! The command line: `import` (real and dry run) against the example files, and `registry load`
//! with good and bad records.

use identity_core::Trn;
use identity_store::testing::TestDatabase;
use identity_testkit::{cli_output, run_cli};

use crate::support::*;

fn summary(lines: &[ResultLine], output: &std::path::Path, note: &str) -> String {
    let [none, added, updated, invalid] = outcome_counts(lines);
    format!(
        "Imported {} rows: None {none}, UserAdded {added}, UserUpdated {updated}, Invalid {invalid}{note}. Results: {}\n",
        lines.len(),
        output.display()
    )
}

async fn import(db: &TestDatabase, output: &std::path::Path, dry_run: bool) -> (String, String) {
    let input = example("users.csv");
    let mut args = vec!["import", input.to_str().unwrap(), "--service", "npq", "--output", output.to_str().unwrap()];
    if dry_run {
        args.push("--dry-run");
    }
    let stdout = run_cli(BIN, &db.url, &args).await;
    (stdout, std::fs::read_to_string(output).unwrap())
}

/// The example file imports to the example result; the same file again links every applied row
/// to the same person (`None`), leaves invalid rows as they were, and writes nothing.
pub async fn cli_import_gives_the_example_results_and_a_rerun_changes_nothing(db: &TestDatabase) {
    load_example_registry(db).await;
    let dir = scratch_dir();
    let expected = example_text("users.results.csv");

    let first_path = dir.join("first.csv");
    let (stdout, first) = import(db, &first_path, false).await;
    assert_same_results(&first, &expected, "first import");
    let first = parse_results(&first);
    assert_eq!(stdout, summary(&first, &first_path, ""));
    assert_eq!(outcome_counts(&first), [2, 11, 3, 19], "the example's outcomes");
    let added = added_ids(&first);
    assert_eq!(people_count(db).await, added.len(), "one person per UserAdded row");
    let queued = queued_rows(db).await;
    assert_eq!(queued.iter().map(|(i, c, _)| (i.clone(), c.clone())).collect::<Vec<_>>(), rows_for_review(&first));
    assert!(queued.iter().all(|(.., job)| job.is_none()), "a command-line import has no job");
    let before = people(db).await;

    let second_path = dir.join("second.csv");
    let (stdout, second) = import(db, &second_path, false).await;
    let second = parse_results(&second);
    assert_eq!(second.len(), first.len());
    for (a, b) in first.iter().zip(&second) {
        assert_eq!((&b.row, &b.id, &b.raw), (&a.row, &a.id, &a.raw));
        if a.outcome == "Invalid" {
            assert_eq!(b, a, "an invalid row stays invalid, with the same notes");
        } else {
            assert_eq!(b.outcome, "None", "row {} was applied before: {b:?}", a.row);
            assert_eq!(b.user_id, a.user_id, "row {} links to the same person", a.row);
            assert!(!b.user_id.is_empty());
        }
    }
    let [_, _, _, invalid] = outcome_counts(&first);
    assert_eq!(outcome_counts(&second), [first.len() as i64 - invalid, 0, 0, invalid]);
    assert_eq!(stdout, summary(&second, &second_path, ""));
    assert_eq!(people(db).await, before, "a re-run changes no person");
    assert_eq!(queued_rows(db).await, queued, "a re-run queues no row twice");

    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    files.sort();
    assert_eq!(files, ["first.csv", "second.csv"], "no partial result file is left behind");

    // In chunks of five rows, and of one, on fresh databases, the results are the same as in one
    // chunk: each chunk is checked while the one before is decided and the one before that
    // written (on PostgreSQL in two sessions at once), and the last one is short.
    for rows in ["5", "1"] {
        let fresh = another_database(db).await;
        load_example_registry(&fresh).await;
        let chunked = dir.join(format!("chunked-{rows}.csv"));
        let input = example("users.csv");
        let args = ["import", input.to_str().unwrap(), "--service", "npq", "--output", chunked.to_str().unwrap()];
        let out = cli_output(BIN, &fresh.url, &args, &[("IDENTITY_IMPORT__CHUNK_ROWS", rows)]).await;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_same_results(&std::fs::read_to_string(&chunked).unwrap(), &expected, &format!("chunks of {rows}"));
        fresh.drop_now().await;
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Rows that depend on the row just before them, each in a chunk of its own (on PostgreSQL each
/// decided while the one before is still being written): the same results as in one chunk. A
/// repeated ID is already linked (whatever the row's email), a repeated email links to its
/// person, and after a TRN update
/// gives a person the registry's surname, a row with the old surname and date of birth no longer
/// finds them.
pub async fn rows_see_the_chunk_just_before_them(db: &TestDatabase) {
    let rows = [
        "p1,p1@example.org,,Pat,,One,,01011990",
        "p1,p1@example.org,,Pat,,One,,01011990",
        "p2,p1@example.org,,Pat,,One,,01011990",
        "p4,p4@example.org,,Sam,,Old,,02021990",
        "p5,p4@example.org,2000001,,,,,02021990",
        "p6,p6@example.org,,Sam,,Old,,02021990",
        "p6,p6b@example.org,,Sam,,Other,,03031990",
    ];
    let dir = scratch_dir();
    let input = dir.join("rows.csv");
    std::fs::write(&input, format!("{HEADER}\n{}\n", rows.join("\n"))).unwrap();
    for chunk_rows in ["1", "1000"] {
        let fresh = another_database(db).await;
        load_registry(&fresh, "TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,DATE_OF_BIRTH\n2000001,Sam,,New,02021990\n").await;
        let output = dir.join(format!("results-{chunk_rows}.csv"));
        let args = ["import", input.to_str().unwrap(), "--service", "npq", "--output", output.to_str().unwrap()];
        let out = cli_output(BIN, &fresh.url, &args, &[("IDENTITY_IMPORT__CHUNK_ROWS", chunk_rows)]).await;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let lines = parse_results(&std::fs::read_to_string(&output).unwrap());
        let outcomes: Vec<&str> = lines.iter().map(|l| l.outcome.as_str()).collect();
        assert_eq!(
            outcomes,
            ["UserAdded", "None", "None", "UserAdded", "UserUpdated", "UserAdded", "None"],
            "chunks of {chunk_rows}: {lines:?}"
        );
        let user = |i: usize| lines[i].user_id.as_str();
        assert_eq!((user(1), user(2)), (user(0), user(0)), "chunks of {chunk_rows}: rows 2 and 3 are row 1's person");
        assert_eq!(user(4), user(3), "chunks of {chunk_rows}");
        assert_ne!(user(5), user(3), "chunks of {chunk_rows}: row 6 is someone new");
        assert_eq!(user(6), user(5), "chunks of {chunk_rows}: row 7's ID is row 6's, whatever its email");
        fresh.drop_now().await;
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// `--dry-run` writes the result file the real import would, without the ids of the people it
/// would add (nobody holds them), and changes nothing: a real import afterwards still adds the
/// same people.
pub async fn cli_dry_run_writes_the_results_and_changes_nothing(db: &TestDatabase) {
    load_example_registry(db).await;
    let dir = scratch_dir();
    let expected = example_text("users.results.csv");

    let dry_path = dir.join("dry.csv");
    let (stdout, dry) = import(db, &dry_path, true).await;
    assert_same_results(&dry, &as_a_dry_run(&expected), "dry run on an empty database");
    assert!(
        parse_results(&dry).iter().all(|l| l.user_id.is_empty()),
        "nobody exists yet, so a dry run shows no USER_ID (not even for rows 6 and 7, which refer to people rows 1 and 5 \
         would add):\n{dry}"
    );
    assert_eq!(assert_dry_run_ids_are_held(db, &dry, "dry run on an empty database").await, 0);
    assert_eq!(stdout, summary(&parse_results(&dry), &dry_path, " (dry run: nothing was changed)"));
    assert_eq!(people_count(db).await, 0, "a dry run adds nobody");
    assert!(queued_rows(db).await.is_empty(), "a dry run queues nothing for review");

    let real_path = dir.join("real.csv");
    let (_, real) = import(db, &real_path, false).await;
    assert_same_results(&real, &expected, "the real import after a dry run");
    assert_same_results(&dry, &as_a_dry_run(&real), "the dry run foretold the real import");
    let real = parse_results(&real);
    let before = people(db).await;
    assert_eq!(before.len(), added_ids(&real).len());

    // A dry run of a re-run answers what the re-run would: every row links to a person who
    // exists, with their id. It still changes nothing.
    let (_, dry_again) = import(db, &dir.join("dry-again.csv"), true).await;
    let (_, rerun) = import(db, &dir.join("rerun.csv"), false).await;
    assert_eq!(dry_again, rerun, "same people, same ids: the files are equal as they are");
    let linked = real.iter().filter(|l| l.outcome != "Invalid").count();
    assert_eq!(assert_dry_run_ids_are_held(db, &dry_again, "dry run of a re-run").await, linked);
    assert_eq!(people(db).await, before);
    let _ = std::fs::remove_dir_all(dir);
}

/// `registry load` loads the good records, lists the refused ones and exits non-zero.
pub async fn registry_load_refuses_bad_records_and_loads_the_rest(db: &TestDatabase) {
    let dir = scratch_dir();
    let file = dir.join("registry.csv");
    let mut text = b"TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,DATE_OF_BIRTH\n\
        2000001,Good,,One,01011980\n\
        12345,Short,,Trn,01011980\n\
        2000003,,,NoFirst,01011980\n\
        2000004,Bad,,Date,31022000\n\
        2000005,Too,Many,Fields,01011980,x\n\
        2000006,Good,Middle,Two,02021981\n"
        .to_vec();
    text.extend_from_slice(b"2000007,Caf\xe9,,Latin1,01011980\n2000008,Last,,Good,03031982\n");
    std::fs::write(&file, &text).unwrap();
    let out = cli_output(BIN, &db.url, &["registry", "load", file.to_str().unwrap()], &[]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("Loaded 3 registry records"), "{stdout}");
    for refused in [
        "record 2: TRN must be a 7 digit number",
        "record 3: FIRST_NAME is empty",
        "record 4: DATE_OF_BIRTH must be a real date in ddMMyyyy format",
        "record 5: expected 5 fields, found 6",
        "record 7: not UTF-8",
    ] {
        assert!(stderr.contains(refused), "{refused:?} is listed:\n{stderr}");
    }
    for accepted in ["record 1:", "record 6:", "record 8:"] {
        assert!(!stderr.contains(accepted), "{stderr}");
    }
    assert_eq!(stderr.lines().last(), Some("import-worker: 5 records were refused"), "{stderr}");

    let store = store(db).await;
    let asked: Vec<Trn> = ["2000001", "2000003", "2000004", "2000005", "2000006", "2000007", "2000008"]
        .map(|t| Trn::parse(t).unwrap())
        .to_vec();
    let mut found: Vec<(String, String, Option<String>, String)> = store
        .registry_get(&asked)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.trn.as_str().to_owned(), r.first_name, r.middle_name, r.last_name))
        .collect();
    found.sort();
    let own = |s: &str| s.to_owned();
    assert_eq!(
        found,
        [
            (own("2000001"), own("Good"), None, own("One")),
            (own("2000006"), own("Good"), Some(own("Middle")), own("Two")),
            (own("2000008"), own("Last"), None, own("Good")),
        ]
    );
    store.close().await;

    // A file whose header is wrong is refused whole, with a one-line reason.
    std::fs::write(&file, "TRN,NAME,DATE_OF_BIRTH\n2000009,A,01011980\n").unwrap();
    let out = cli_output(BIN, &db.url, &["registry", "load", file.to_str().unwrap()], &[]).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("FIRST_NAME"), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}
