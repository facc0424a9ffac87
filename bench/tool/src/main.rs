//! Data for the benchmarks in `bench/`. Writes through the store, the way SCIM and imports do,
//! and lists what it made (ids, user names, emails) for the load generator to pick from at
//! random.

mod load;
mod quality;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use identity_core::{DateOfBirth, Email, ProfileFields, RegistryRecord, ServiceName, Trn, UserId};
use identity_store::{Actor, ImportWrites, ImportedUser, PoolConfig, SsoUserWrite, Store};
use serde_json::json;

/// Seeds benchmark data into the database of DATABASE_URL.
#[derive(Parser)]
#[command(name = "identity-bench")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// N users as SCIM creates them; writes ids.txt and names.txt to --out.
    SeedSso {
        #[arg(long)]
        count: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// N people as an import creates them (import profile, link); writes ids.txt and
    /// emails.txt to --out.
    SeedPeople {
        #[arg(long)]
        count: usize,
        #[arg(long)]
        out: PathBuf,
        /// Names and birthdays as a department's (the match-quality generator's tables), so that
        /// strangers share them only by chance; without it every last name is `Family<n>`, which
        /// suits lookups but makes everyone alike to the matcher.
        #[arg(long)]
        varied: bool,
    },
    /// Reads random users from ids.txt through the store for a few seconds, with N concurrent
    /// tasks, and prints reads per second: the store's share of a GET, without HTTP.
    Probe {
        #[arg(long)]
        ids: PathBuf,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// sso (SCIM's read), person (the api's read) or create (SCIM's create).
        #[arg(long, default_value = "sso")]
        read: String,
    },
    /// An import file of --rows rows against the people of `seed-people --count EXISTING`, in
    /// the mix given (percentages of the rows, adding up to 100; the defaults are the
    /// existing-people shape, `--new 90 --email-repeats 4 --near-duplicates 3 --trn 0
    /// --invalid 3` a migrating service's file of mostly new people).
    ImportFile {
        #[arg(long)]
        existing: usize,
        #[arg(long)]
        rows: usize,
        #[arg(long)]
        out: PathBuf,
        /// Also load the registry records the file's TRNs refer to.
        #[arg(long)]
        load_registry: bool,
        /// Against people seeded with `seed-people --varied`, and new people as varied (strangers
        /// to the seeded ones but for chance), as the matcher would meet a real file.
        #[arg(long)]
        varied: bool,
        #[command(flatten)]
        mix: Mix,
    },
    /// Hawk-signed GETs for `get_signed.lua` (no database): COUNT lines of path and header, each
    /// path PREFIX and a random line of LIST, signed now for BASE with its own nonce.
    HawkHeaders {
        #[arg(long)]
        id: String,
        #[arg(long)]
        key: String,
        #[arg(long)]
        base: String,
        #[arg(long)]
        list: PathBuf,
        #[arg(long)]
        prefix: String,
        #[arg(long)]
        count: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// SCIM creates at RATE a second against sso-scim for SECONDS; for one in SAMPLE, the time
    /// from the 201 to sso-profile serving the new user (no database).
    Staleness {
        #[arg(long)]
        scim: String,
        #[arg(long)]
        scim_token: String,
        #[arg(long)]
        profile: String,
        #[arg(long)]
        profile_token: String,
        #[arg(long, default_value_t = 1000)]
        rate: u32,
        #[arg(long, default_value_t = 30)]
        seconds: u64,
        #[arg(long, default_value_t = 5)]
        sample: u32,
    },
    /// One SCIM user updated CHANGES times (a change each), for the export and erasure
    /// benchmarks; prints its id.
    SeedHistory {
        #[arg(long)]
        changes: usize,
        /// Tells this person's values from another's (user name, names and address).
        #[arg(long)]
        name: String,
    },
    /// JOBS finished import jobs of ROWS stored rows each, as uploads leave them, for the
    /// retention sweep's benchmark.
    SeedImportRows {
        #[arg(long)]
        jobs: usize,
        #[arg(long)]
        rows: usize,
    },
    /// The matcher's precision and recall over labelled people (no database): some recorded
    /// twice with the differences real records have, some with a namesake; prints Markdown.
    MatchQuality {
        #[arg(long, default_value_t = 100_000)]
        people: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
}

/// What an import file is made of, in percent of its rows.
#[derive(clap::Args, Debug, Clone, Copy)]
struct Mix {
    /// New people.
    #[arg(long, default_value_t = 75)]
    new: usize,
    /// An existing person's email address (outcome None).
    #[arg(long, default_value_t = 10)]
    email_repeats: usize,
    /// An existing person's names (the first name a nickname where it has one) and date of
    /// birth under another address (Invalid: potential duplicate).
    #[arg(long, default_value_t = 5)]
    near_duplicates: usize,
    /// New people with a TRN (its registry record loaded).
    #[arg(long, default_value_t = 5)]
    trn: usize,
    /// Rows that fail the field rules.
    #[arg(long, default_value_t = 5)]
    invalid: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RowKind {
    New,
    EmailRepeat,
    NearDuplicate,
    Trn,
    Invalid,
}

impl Mix {
    /// The kind of row `r`: each run of 100 rows holds the mix's share of each kind, spread
    /// through it rather than in blocks.
    fn kind(&self, r: usize) -> Result<RowKind, String> {
        let shares = [
            (RowKind::EmailRepeat, self.email_repeats),
            (RowKind::NearDuplicate, self.near_duplicates),
            (RowKind::Trn, self.trn),
            (RowKind::Invalid, self.invalid),
            (RowKind::New, self.new),
        ];
        let total: usize = shares.iter().map(|(_, n)| n).sum();
        if total != 100 {
            return Err(format!("the mix adds up to {total}%, not 100%"));
        }
        // 37 is prime to 100: slot visits every value of 0..100 once per 100 rows.
        let mut slot = (r * 37) % 100;
        for (kind, share) in shares {
            if slot < share {
                return Ok(kind);
            }
            slot -= share;
        }
        Ok(RowKind::New)
    }
}

const FIRST: [&str; 16] = [
    "Robert", "Ann", "William", "Margaret", "James", "Priya", "Mohammed", "Olivia", "Thomas", "Aisha", "David",
    "Chloe", "Daniel", "Zoe", "Samuel", "Grace",
];

/// A date of birth spread over 50 years; always a real date (days 1 to 28).
fn dob(i: usize) -> DateOfBirth {
    let day = 1 + (i % 28) as u32;
    let month = 1 + ((i / 28) % 12) as u32;
    let year = 1950 + ((i / 336) % 50) as i32;
    DateOfBirth::new(chrono::NaiveDate::from_ymd_opt(year, month, day).unwrap_or_default())
}

fn write_lines(path: &Path, lines: impl Iterator<Item = String>) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    for l in lines {
        writeln!(f, "{l}")?;
    }
    f.flush()
}

fn person(i: usize) -> (String, String, String) {
    (FIRST[i % FIRST.len()].to_owned(), format!("Family{i}"), format!("person{i}@bench.example"))
}

/// Seeded person `i`'s first name, last name, email and date of birth, as `seed-people` wrote
/// them (`varied` as it was given there).
fn seeded_person(i: usize, varied: bool) -> (String, String, String, DateOfBirth) {
    let (first, last, email) = person(i);
    if varied {
        let (first, last, date_of_birth) = quality::stranger(i);
        (first, last, email, DateOfBirth::new(date_of_birth))
    } else {
        (first, last, email, dob(i))
    }
}

async fn seed_people(store: &Store, count: usize, varied: bool) -> Result<Vec<UserId>, String> {
    let service = ServiceName::new("seed").map_err(|e| e.to_string())?;
    let mut ids = Vec::with_capacity(count);
    for start in (0..count).step_by(1000) {
        let mut new_users = Vec::new();
        for i in start..(start + 1000).min(count) {
            let (first, last, email, date_of_birth) = seeded_person(i, varied);
            let id = UserId::random();
            ids.push(id);
            new_users.push(ImportedUser {
                id,
                external_id: format!("seed-{i}"),
                import: ProfileFields {
                    first_name: Some(first),
                    last_name: Some(last),
                    email: Some(Email::parse(&email).map_err(|e| e.to_string())?),
                    date_of_birth: Some(date_of_birth),
                    ..ProfileFields::default()
                },
                registry: None,
            });
        }
        let writes = ImportWrites {
            service: service.clone(),
            actor: "bench-seed".into(),
            new_users,
            trn_updates: vec![],
            links: vec![],
            reviews: Vec::new(),
        };
        let mut session = store.import_session().await.map_err(|e| e.to_string())?;
        session.apply(&writes).await.map_err(|e| e.to_string())?;
        session.commit().await.map_err(|e| e.to_string())?;
        if start % 100_000 == 0 && start > 0 {
            eprintln!("  {start} people");
        }
    }
    // The running services number the change feed as they write; seeded people left unnumbered
    // would put a million rows of that work into the first timed run.
    store.sequence_changes().await.map_err(|e| e.to_string())?;
    Ok(ids)
}

/// Finished jobs of stored rows (outcome and user unset: the sweep reads neither).
async fn seed_import_rows(store: &Store, jobs: usize, rows: usize) -> Result<(), String> {
    let e = |e: identity_store::StoreError| e.to_string();
    for j in 0..jobs {
        let job = store
            .import_job_create(&identity_store::NewImportJob {
                service: ServiceName::new("seed").map_err(|e| e.to_string())?,
                file_name: format!("seed-{j}.csv"),
                submitted_by: "bench-seed".into(),
                dry_run: false,
                columns: "ID,EMAIL_ADDRESS,TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,PREFERRED_NAME,DATE_OF_BIRTH".into(),
            })
            .await
            .map_err(e)?;
        for start in (1..=rows).step_by(10_000) {
            let batch: Vec<identity_store::NewImportRow> = (start..(start + 10_000).min(rows + 1))
                .map(|n| {
                    let i = j * rows + n;
                    let (first, last, email) = person(i);
                    identity_store::NewImportRow {
                        row_number: n as i64,
                        source_id: format!("s-{i}"),
                        raw_data: format!("s-{i},{email},,{first},,{last},,{}", dob(i).date().format("%d%m%Y")),
                        problem: None,
                    }
                })
                .collect();
            store.import_rows_append(job.id, &batch).await.map_err(e)?;
        }
        store.import_job_queue(job.id, rows as i64).await.map_err(e)?;
        let lease = chrono::Utc::now() + chrono::Duration::minutes(5);
        let claimed = store.import_job_claim("bench-seed", lease).await.map_err(e)?;
        if claimed.as_ref().map(|c| c.id) != Some(job.id) {
            return Err("another job is queued in this database: seed an empty one".into());
        }
        store.import_job_finish(job.id, "bench-seed", None).await.map_err(e)?;
        eprintln!("  {} jobs of {rows} rows", j + 1);
    }
    Ok(())
}

async fn run(cli: Cli) -> Result<(), String> {
    match &cli.command {
        Command::MatchQuality { people, seed } => {
            print!("{}", quality::run(*people, *seed).text);
            return Ok(());
        }
        Command::HawkHeaders { id, key, base, list, prefix, count, out } => {
            return load::hawk_headers(id, key, base, list, prefix, *count, out);
        }
        Command::Staleness { scim, scim_token, profile, profile_token, rate, seconds, sample } => {
            let s = load::Staleness {
                scim,
                scim_token,
                profile,
                profile_token,
                rate: *rate,
                seconds: *seconds,
                sample: *sample,
            };
            return load::staleness(s).await;
        }
        _ => {}
    }
    let url = std::env::var("DATABASE_URL").map_err(|_| "DATABASE_URL is not set".to_owned())?;
    let store = Store::connect(&url, &PoolConfig { max_connections: Some(8), ..PoolConfig::default() })
        .map_err(|e| e.to_string())?;
    store.migrate().await.map_err(|e| e.to_string())?;
    match cli.command {
        Command::SeedSso { count, out } => {
            std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
            let mut tasks = Vec::new();
            for worker in 0..8 {
                let store = store.clone();
                tasks.push(tokio::spawn(async move {
                    let mut made = Vec::new();
                    for i in (worker..count).step_by(8) {
                        let name = format!("User.{i:06}");
                        let email = format!("user.{i:06}@example.com");
                        let w = SsoUserWrite {
                            user_name: name.clone(),
                            fields: ProfileFields {
                                first_name: Some(format!("Given{i}")),
                                last_name: Some(format!("Family{i}")),
                                email: Email::parse(&email).ok(),
                                ..ProfileFields::default()
                            },
                            attributes: json!({
                                "userName": name, "active": true,
                                "name": {"givenName": format!("Given{i}"), "familyName": format!("Family{i}")},
                                "emails": [{"value": email, "type": "work", "primary": true}]
                            }),
                            active: true,
                        };
                        let u = store.sso_create(&w, &Actor::new("bench-seed")).await.map_err(|e| e.to_string())?;
                        made.push((u.id, name));
                    }
                    Ok::<_, String>(made)
                }));
            }
            let mut all = Vec::new();
            for t in tasks {
                all.extend(t.await.map_err(|e| e.to_string())??);
            }
            write_lines(&out.join("ids.txt"), all.iter().map(|(id, _)| id.to_string())).map_err(|e| e.to_string())?;
            write_lines(&out.join("names.txt"), all.iter().map(|(_, n)| n.clone())).map_err(|e| e.to_string())?;
            store.sequence_changes().await.map_err(|e| e.to_string())?;
            eprintln!("seeded {count} SCIM users -> {}", out.display());
        }
        Command::Probe { ids, concurrency, seconds, read } => {
            let ids: Vec<UserId> = std::fs::read_to_string(&ids)
                .map_err(|e| e.to_string())?
                .lines()
                .filter_map(|l| l.parse().ok())
                .collect();
            let ids = std::sync::Arc::new(ids);
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
            let mut tasks = Vec::new();
            for t in 0..concurrency {
                let (store, ids, read) = (store.clone(), ids.clone(), read.clone());
                tasks.push(tokio::spawn(async move {
                    let mut n = 0u64;
                    let mut i = t * 7919;
                    while std::time::Instant::now() < deadline {
                        i = (i + 104_729) % ids.len();
                        match read.as_str() {
                            "sso" => drop(store.sso_get(ids[i]).await.map_err(|e| e.to_string())?),
                            "person" => drop(store.person(ids[i]).await.map_err(|e| e.to_string())?),
                            _ => {
                                let name = format!("probe-{t}-{n}-{}", UserId::random());
                                let w = SsoUserWrite {
                                    user_name: name.clone(),
                                    fields: ProfileFields {
                                        first_name: Some("Probe".into()),
                                        email: Email::parse(&format!("{name}@example.com")).ok(),
                                        ..ProfileFields::default()
                                    },
                                    attributes: json!({"userName": name}),
                                    active: true,
                                };
                                store.sso_create(&w, &Actor::new("probe")).await.map_err(|e| e.to_string())?;
                            }
                        }
                        n += 1;
                    }
                    Ok::<_, String>(n)
                }));
            }
            let mut total = 0;
            for t in tasks {
                total += t.await.map_err(|e| e.to_string())??;
            }
            println!("{} reads/s", total / seconds);
        }
        Command::SeedHistory { changes, name } => {
            let write = |n: usize| SsoUserWrite {
                user_name: name.clone(),
                fields: ProfileFields {
                    first_name: Some(format!("Given{name}")),
                    last_name: Some(format!("Family{name}")),
                    preferred_name: Some(format!("Nick{n}")),
                    email: Email::parse(&format!("{name}@example.com")).ok(),
                    ..ProfileFields::default()
                },
                attributes: json!({"userName": name, "active": true, "nickName": format!("Nick{n}")}),
                active: true,
            };
            let actor = Actor::new("bench-seed");
            let user = store.sso_create(&write(0), &actor).await.map_err(|e| e.to_string())?;
            for n in 1..changes {
                store.sso_replace(user.id, &write(n), None, &actor).await.map_err(|e| e.to_string())?;
                if n % 2000 == 0 {
                    eprintln!("  {n} changes");
                }
            }
            store.sequence_changes().await.map_err(|e| e.to_string())?;
            println!("{}", user.id);
        }
        Command::SeedImportRows { jobs, rows } => seed_import_rows(&store, jobs, rows).await?,
        Command::SeedPeople { count, out, varied } => {
            std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
            let ids = seed_people(&store, count, varied).await?;
            write_lines(&out.join("ids.txt"), ids.iter().map(ToString::to_string)).map_err(|e| e.to_string())?;
            write_lines(&out.join("emails.txt"), (0..count).map(|i| person(i).2)).map_err(|e| e.to_string())?;
            eprintln!("seeded {count} people -> {}", out.display());
        }
        Command::MatchQuality { .. } | Command::HawkHeaders { .. } | Command::Staleness { .. } => {
            unreachable!("answered before the database is opened")
        }
        Command::ImportFile { existing, rows, out, load_registry, varied, mix } => {
            let mut f = std::io::BufWriter::new(std::fs::File::create(&out).map_err(|e| e.to_string())?);
            writeln!(f, "ID,EMAIL_ADDRESS,TRN,FIRST_NAME,MIDDLE_NAME,LAST_NAME,PREFERRED_NAME,DATE_OF_BIRTH")
                .map_err(|e| e.to_string())?;
            let mut registry = Vec::new();
            for r in 0..rows {
                let kind = match mix.kind(r)? {
                    RowKind::EmailRepeat | RowKind::NearDuplicate if existing == 0 => RowKind::New,
                    kind => kind,
                };
                let line = match kind {
                    RowKind::EmailRepeat => {
                        let i = (r * 7919) % existing;
                        let (first, last, email, born) = seeded_person(i, varied);
                        format!("b-{r},{email},,{first},,{last},,{}", born.date().format("%d%m%Y"))
                    }
                    RowKind::NearDuplicate => {
                        let i = (r * 104_729) % existing;
                        let (first, last, _, born) = seeded_person(i, varied);
                        let first = quality::nickname(&first).unwrap_or(&first);
                        format!("b-{r},other{r}@bench.example,,{first},,{last},,{}", born.date().format("%d%m%Y"))
                    }
                    RowKind::Invalid => format!("b-{r},not-an-email,,Ann,,Lee,,00011900"),
                    RowKind::Trn => {
                        let trn = format!("{:07}", 2_000_000 + r);
                        registry.push(RegistryRecord {
                            trn: Trn::parse(&trn).map_err(|e| e.to_string())?,
                            first_name: "Reg".into(),
                            middle_name: None,
                            last_name: format!("Istry{r}"),
                            date_of_birth: dob(r),
                        });
                        format!("b-{r},new{r}@bench.example,{trn},,,,,{}", dob(r).date().format("%d%m%Y"))
                    }
                    RowKind::New if varied => {
                        let (first, last, born) = quality::stranger(existing + r);
                        format!("b-{r},new{r}@bench.example,,{first},,{last},,{}", born.format("%d%m%Y"))
                    }
                    RowKind::New => {
                        format!("b-{r},new{r}@bench.example,,New,,Person{r},,{}", dob(r).date().format("%d%m%Y"))
                    }
                };
                writeln!(f, "{line}").map_err(|e| e.to_string())?;
            }
            f.flush().map_err(|e| e.to_string())?;
            if load_registry {
                for chunk in registry.chunks(5000) {
                    store.registry_put(chunk).await.map_err(|e| e.to_string())?;
                }
            }
            eprintln!("wrote {rows} rows to {} ({} registry records)", out.display(), registry.len());
        }
    }
    store.close().await;
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("identity-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("identity-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
