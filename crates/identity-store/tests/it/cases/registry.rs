use identity_core::{DateOfBirth, Trn};
use identity_store::{RegistryRecord, Store};

fn record(trn: &str, first: &str) -> RegistryRecord {
    RegistryRecord {
        trn: Trn::parse(trn).unwrap(),
        first_name: first.to_owned(),
        middle_name: None,
        last_name: "Lee".to_owned(),
        date_of_birth: DateOfBirth::parse_ddmmyyyy("01021980").unwrap(),
    }
}

pub async fn registry_records(store: Store) {
    let many: Vec<_> = (0..1_200).map(|i| record(&format!("{:07}", 1_000_000 + i), "Ann")).collect();
    assert_eq!(store.registry_put(&many).await.unwrap(), 1_200);
    // Loading again replaces.
    store.registry_put(&[record("1000001", "Anne")]).await.unwrap();
    let wanted: Vec<Trn> = ["1000001", "1000002", "9999999"].iter().map(|t| Trn::parse(t).unwrap()).collect();
    let mut found = store.registry_get(&wanted).await.unwrap();
    found.sort_by(|a, b| a.trn.cmp(&b.trn));
    assert_eq!(found.len(), 2);
    assert_eq!(found[0], record("1000001", "Anne"));
    assert!(store.registry_get(&[]).await.unwrap().is_empty());
    // A TRN given twice in one load keeps its last record.
    store.registry_put(&[record("1000003", "First"), record("1000003", "Last")]).await.unwrap();
    let again = store.registry_get(&[Trn::parse("1000003").unwrap()]).await.unwrap();
    assert_eq!(again, [record("1000003", "Last")]);
    let all: Vec<Trn> = many.iter().map(|r| r.trn.clone()).collect();
    assert_eq!(store.registry_get(&all).await.unwrap().len(), 1_200);
}
