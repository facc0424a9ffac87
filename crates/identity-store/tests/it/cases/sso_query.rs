use chrono::{Duration, Utc};
use identity_core::query::{Attr, AttrType, CompareOp, Filter, SortOrder, Value};
use identity_store::{SsoPage, SsoQuery, Store, StoreError};
use serde_json::json;

use super::{actor, sso_user};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn s(path: &[&str]) -> Attr {
    Attr::new(path, AttrType::String, false)
}

fn cmp(attr: Attr, op: CompareOp, value: &str) -> Filter {
    Filter::Compare { attr, op, value: Value::String(value.to_owned()) }
}

/// Seeds five users with varied attributes; returns their user names in creation order.
async fn seed(store: &Store) {
    let people = [
        ("bjensen", "Barbara", "Jensen", "bjensen@example.com", "Sales", 3, true),
        ("jsmith", "John", "Smith", "john@work.example.org", "Engineering", 1, true),
        ("Ann.Lee", "Ann", "Lee", "ann@example.com", "engineering", 5, false),
        ("zoe", "Zoë", "Ng", "zoe@example.net", "Support", 2, true),
        ("mallory", "Mallory", "Jensen-Smith", "m@example.com", "Sales", 4, true),
    ];
    for (user_name, given, family, email, dept, level, active) in people {
        let mut w = sso_user(user_name, given, family, email);
        w.active = active;
        w.attributes[ENTERPRISE] = json!({"department": dept, "employeeNumber": format!("E{level}")});
        w.attributes["x-level"] = json!(level);
        if user_name == "jsmith" {
            w.attributes["emails"] = json!([
                {"value": "john@work.example.org", "type": "work", "primary": true},
                {"value": "johnny@home.example", "type": "home", "primary": false}
            ]);
            w.attributes["title"] = json!("Engineer");
        }
        store.sso_create(&w, &actor()).await.unwrap();
    }
}

async fn names(store: &Store, filter: Filter) -> Vec<String> {
    let q = SsoQuery {
        filter: Some(filter),
        sort: Some((s(&["userName"]), SortOrder::Ascending)),
        page: SsoPage::Index { start: 1, count: 100 },
    };
    let list = store.sso_list(&q).await.unwrap();
    assert_eq!(list.total as usize, list.users.len());
    list.users.into_iter().map(|u| u.user_name).collect()
}

pub async fn sso_filter_operators(store: Store) {
    seed(&store).await;
    let un = || s(&["userName"]);
    assert_eq!(
        names(&store, cmp(un(), CompareOp::Eq, "BJENSEN")).await,
        ["bjensen"],
        "userName compares case-insensitively"
    );
    assert_eq!(names(&store, cmp(un(), CompareOp::Ne, "bjensen")).await, ["Ann.Lee", "jsmith", "mallory", "zoe"]);
    assert_eq!(names(&store, cmp(un(), CompareOp::Co, "SMI")).await, ["jsmith"]);
    assert_eq!(names(&store, cmp(un(), CompareOp::Sw, "ann.")).await, ["Ann.Lee"]);
    assert_eq!(names(&store, cmp(un(), CompareOp::Ew, "ory")).await, ["mallory"]);
    assert_eq!(names(&store, cmp(un(), CompareOp::Gt, "mallory")).await, ["zoe"]);
    assert_eq!(names(&store, cmp(un(), CompareOp::Ge, "mallory")).await, ["mallory", "zoe"]);
    assert_eq!(names(&store, cmp(un(), CompareOp::Lt, "bjensen")).await, ["Ann.Lee"]);
    assert_eq!(names(&store, cmp(un(), CompareOp::Le, "bjensen")).await, ["Ann.Lee", "bjensen"]);
    let family = || s(&["name", "familyName"]);
    assert_eq!(names(&store, cmp(family(), CompareOp::Eq, "jensen")).await, ["bjensen"]);
    assert_eq!(names(&store, cmp(family(), CompareOp::Co, "SMITH")).await, ["jsmith", "mallory"]);
    assert_eq!(names(&store, cmp(family(), CompareOp::Sw, "jen")).await, ["bjensen", "mallory"]);
    // A case-exact attribute compares exactly.
    let exact = Attr::new(&["name", "familyName"], AttrType::String, true);
    assert!(names(&store, cmp(exact.clone(), CompareOp::Eq, "jensen")).await.is_empty());
    assert_eq!(names(&store, cmp(exact, CompareOp::Eq, "Jensen")).await, ["bjensen"]);
    assert_eq!(names(&store, Filter::Present(s(&["title"]))).await, ["jsmith"]);
    let active = Attr::new(&["active"], AttrType::Boolean, false);
    let is = |b: bool| Filter::Compare { attr: active.clone(), op: CompareOp::Eq, value: Value::Boolean(b) };
    assert_eq!(names(&store, is(false)).await, ["Ann.Lee"]);
    assert_eq!(names(&store, is(true)).await.len(), 4);
    let level = Attr::new(&["x-level"], AttrType::Integer, false);
    let above = Filter::Compare { attr: level, op: CompareOp::Gt, value: Value::Number(3.0) };
    assert_eq!(names(&store, above).await, ["Ann.Lee", "mallory"]);
    let modified = Attr::new(&["meta", "lastModified"], AttrType::DateTime, false);
    let since = |t| Filter::Compare { attr: modified.clone(), op: CompareOp::Gt, value: Value::DateTime(t) };
    assert_eq!(names(&store, since(Utc::now() - Duration::hours(1))).await.len(), 5);
    assert!(names(&store, since(Utc::now() + Duration::hours(1))).await.is_empty());
    let all = store
        .sso_list(&SsoQuery { filter: None, sort: None, page: SsoPage::Index { start: 1, count: 100 } })
        .await
        .unwrap();
    let id = all.users[2].id.to_string();
    assert_eq!(names(&store, cmp(Attr::new(&["id"], AttrType::String, true), CompareOp::Eq, &id)).await.len(), 1);
    assert!(names(&store, cmp(Attr::new(&["id"], AttrType::String, true), CompareOp::Eq, "not-a-uuid"))
        .await
        .is_empty());
    let unsupported = store
        .sso_list(&SsoQuery {
            filter: Some(cmp(Attr::new(&["id"], AttrType::String, true), CompareOp::Co, "a")),
            sort: None,
            page: SsoPage::Index { start: 1, count: 10 },
        })
        .await;
    assert!(matches!(unsupported, Err(StoreError::Unsupported(_))));
}

pub async fn sso_filter_value_paths_and_extensions(store: Store) {
    seed(&store).await;
    let emails = Attr::new(&["emails"], AttrType::Complex, false);
    let any = |f: Filter| Filter::Any { attr: emails.clone(), filter: Box::new(f) };
    let work_at_org =
        any(Filter::and(cmp(s(&["type"]), CompareOp::Eq, "work"), cmp(s(&["value"]), CompareOp::Co, ".org")));
    assert_eq!(names(&store, work_at_org).await, ["jsmith"]);
    // Both conditions must hold for one element: jsmith's home address is not .org.
    let home_at_org =
        any(Filter::and(cmp(s(&["type"]), CompareOp::Eq, "home"), cmp(s(&["value"]), CompareOp::Co, ".org")));
    assert!(names(&store, home_at_org).await.is_empty());
    assert_eq!(names(&store, any(cmp(s(&["value"]), CompareOp::Eq, "JOHNNY@home.example"))).await, ["jsmith"]);
    let primary = Attr::new(&["primary"], AttrType::Boolean, false);
    let not_primary = any(Filter::Compare { attr: primary, op: CompareOp::Eq, value: Value::Boolean(false) });
    assert_eq!(names(&store, not_primary).await, ["jsmith"]);
    let dept = s(&[ENTERPRISE, "department"]);
    assert_eq!(names(&store, cmp(dept.clone(), CompareOp::Eq, "ENGINEERING")).await, ["Ann.Lee", "jsmith"]);
    assert_eq!(names(&store, cmp(dept, CompareOp::Sw, "s")).await, ["bjensen", "mallory", "zoe"]);
    let hostile = s(&["name'); DROP TABLE users; --"]);
    let refused = store
        .sso_list(&SsoQuery {
            filter: Some(cmp(hostile, CompareOp::Eq, "x")),
            sort: None,
            page: SsoPage::Index { start: 1, count: 1 },
        })
        .await;
    assert!(matches!(refused, Err(StoreError::Unsupported(_))));
}

pub async fn sso_filter_logic_and_absent_attributes(store: Store) {
    seed(&store).await;
    let family = || s(&["name", "familyName"]);
    let title = || s(&["title"]);
    let either = Filter::or(cmp(family(), CompareOp::Eq, "lee"), cmp(family(), CompareOp::Eq, "ng"));
    assert_eq!(names(&store, either).await, ["Ann.Lee", "zoe"]);
    let both =
        Filter::and(cmp(family(), CompareOp::Co, "jensen"), cmp(s(&["name", "givenName"]), CompareOp::Eq, "mallory"));
    assert_eq!(names(&store, both).await, ["mallory"]);
    // Users without a title are "not equal" to one, and `not` includes them.
    assert_eq!(names(&store, cmp(title(), CompareOp::Ne, "Engineer")).await.len(), 4);
    assert_eq!(names(&store, Filter::not(cmp(title(), CompareOp::Eq, "Engineer"))).await.len(), 4);
    assert_eq!(names(&store, Filter::not(Filter::Present(title()))).await.len(), 4);
    let null = Filter::Compare { attr: title(), op: CompareOp::Eq, value: Value::Null };
    assert_eq!(names(&store, null).await.len(), 4);
    // Accents are not folded by filters (only ASCII case), on both backends alike.
    assert!(names(&store, cmp(s(&["name", "givenName"]), CompareOp::Eq, "zoe")).await.is_empty());
    assert_eq!(names(&store, cmp(s(&["name", "givenName"]), CompareOp::Eq, "ZOë")).await, ["zoe"]);
}

pub async fn sso_sort_and_index_paging(store: Store) {
    seed(&store).await;
    let page = |start, count, sort: Option<(Attr, SortOrder)>| {
        let store = store.clone();
        async move { store.sso_list(&SsoQuery { filter: None, sort, page: SsoPage::Index { start, count } }).await.unwrap() }
    };
    let by_family = Some((s(&["name", "familyName"]), SortOrder::Ascending));
    let first = page(1, 2, by_family.clone()).await;
    assert_eq!(first.total, 5);
    let family = |l: &identity_store::SsoList| {
        l.users.iter().map(|u| u.attributes["name"]["familyName"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(family(&first), ["Jensen", "Jensen-Smith"]);
    assert_eq!(family(&page(3, 2, by_family.clone()).await), ["Lee", "Ng"]);
    assert_eq!(family(&page(5, 2, by_family).await), ["Smith"]);
    let desc = page(1, 5, Some((s(&["userName"]), SortOrder::Descending))).await;
    assert_eq!(
        desc.users.iter().map(|u| u.user_name.as_str()).collect::<Vec<_>>(),
        ["zoe", "mallory", "jsmith", "bjensen", "Ann.Lee"]
    );
    let none = page(1, 0, None).await;
    assert_eq!((none.total, none.users.len()), (5, 0), "count=0 gives the total only");
    let beyond = page(9, 5, None).await;
    assert_eq!((beyond.total, beyond.users.len()), (5, 0));
    // Users without the sort attribute come last ascending.
    let by_title = page(1, 5, Some((s(&["title"]), SortOrder::Ascending))).await;
    assert_eq!(by_title.users[0].user_name, "jsmith");
}

pub async fn sso_cursor_paging_is_stable_under_deletes(store: Store) {
    for i in 0..7 {
        store.sso_create(&sso_user(&format!("u{i}"), "G", "F", &format!("u{i}@example.com")), &actor()).await.unwrap();
    }
    let page = |after, count| {
        let store = store.clone();
        async move {
            store
                .sso_list(&SsoQuery { filter: None, sort: None, page: SsoPage::Cursor { after, count } })
                .await
                .unwrap()
        }
    };
    let first = page(None, 3).await;
    assert_eq!(first.users.len(), 3);
    assert_eq!(first.total, 7);
    // Delete a user already seen and one not yet seen: the walk still meets every other user.
    store.sso_archive(first.users[0].id, None, &actor()).await.unwrap();
    let mut seen: Vec<_> = first.users.iter().map(|u| u.id).collect();
    let all_before = store
        .sso_list(&SsoQuery { filter: None, sort: None, page: SsoPage::Cursor { after: None, count: 100 } })
        .await
        .unwrap();
    let unseen = all_before.users.iter().find(|u| !seen.contains(&u.id)).unwrap().id;
    store.sso_archive(unseen, None, &actor()).await.unwrap();
    let mut cursor = first.next_cursor;
    while let Some(after) = cursor {
        let next = page(Some(after), 3).await;
        seen.extend(next.users.iter().map(|u| u.id));
        cursor = next.next_cursor;
    }
    assert_eq!(seen.len(), 6, "7 users, one archived before it was reached");
    let sorted = store
        .sso_list(&SsoQuery {
            filter: None,
            sort: Some((s(&["userName"]), SortOrder::Ascending)),
            page: SsoPage::Cursor { after: None, count: 2 },
        })
        .await;
    assert!(matches!(sorted, Err(StoreError::Unsupported(_))));
}
