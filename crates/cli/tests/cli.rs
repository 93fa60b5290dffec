//! End-to-end tests of the `jifen` binary: init, regions, import/export, verify.

mod common;

/// A fresh folder for one test.
fn temp(tag: &str) -> common::TempDir {
    common::temp(&format!("cli-{tag}"))
}

use std::path::Path;
use std::process::Output;

fn jifen(data: &Path, args: &[&str]) -> Output {
    common::jifen(data).args(args).output().expect("run jifen")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs jifen and expects success (`true`) or failure with a message containing `expect`.
fn check(data: &Path, args: &[&str], ok: bool, expect: &str) -> String {
    let o = jifen(data, args);
    let t = text(&o);
    assert_eq!(o.status.success(), ok, "jifen {args:?}: {t}");
    assert!(
        t.contains(expect),
        "jifen {args:?}: expected {expect:?} in:\n{t}"
    );
    t
}

fn write(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, body).expect("write file");
    p.display().to_string()
}

#[test]
fn init_regions_import_export_verify() {
    let tmp = temp("flow");
    let data = tmp.0.join("data");
    let d = data.as_path();
    check(d, &["regions"], false, "holds no jifen data");
    check(
        d,
        &["init", "--region", "Bad Code", "--name", "x"],
        false,
        "region code",
    );
    check(
        d,
        &[
            "init",
            "--region",
            "tx-city",
            "--name",
            "桐乡市",
            "--kind",
            "city",
        ],
        true,
        "verifier key: jifen.local/log/tx-city+",
    );
    check(
        d,
        &[
            "init",
            "--region",
            "tx-vil",
            "--name",
            "越丰村",
            "--parent",
            "tx-city",
        ],
        true,
        "created region tx-vil",
    );
    check(
        d,
        &["init", "--region", "tx-vil", "--name", "again"],
        false,
        "exists already",
    );
    check(
        d,
        &[
            "init", "--region", "orphan", "--name", "x", "--parent", "nowhere",
        ],
        false,
        "parent region nowhere not found",
    );
    let listed = check(d, &["regions"], true, "tx-city\t桐乡市\tcity");
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("tx-vil\t越丰村\tvillage\tparent=tx-city")),
        "{listed}"
    );

    // A bad row anywhere: the import reports its line and keeps nothing.
    let bad = write(
        &tmp.0,
        "bad.csv",
        "member,household,name\n1,1,张三\n2,1,李四\n3,x,王五\n",
    );
    check(
        d,
        &["import", "members", "--region", "tx-vil", &bad],
        false,
        "line 4: household id",
    );
    let none = check(
        d,
        &["export", "members", "--region", "tx-vil"],
        true,
        "member,household",
    );
    assert_eq!(
        none.lines().count(),
        1,
        "nothing of the failed import is kept:\n{none}"
    );
    // The same with the line endings spreadsheets on Windows write, a blank line
    // and a lone CR: still the line a person sees in the file.
    let crlf = write(
        &tmp.0,
        "crlf.csv",
        "member,household,name\r\n1,1,张三\r\n\r\n2,1,李四\r3,x,王五\r\n",
    );
    check(
        d,
        &["import", "members", "--region", "tx-vil", &crlf],
        false,
        "line 5: household id",
    );
    let dup = write(
        &tmp.0,
        "dup.csv",
        "member,household,name\n1,1,张三\n1,1,张三\n",
    );
    check(
        d,
        &["import", "members", "--region", "tx-vil", &dup],
        false,
        "line 3: member 1 exists already",
    );
    let missing = write(&tmp.0, "missing.csv", "member,name\n1,张三\n");
    check(
        d,
        &["import", "members", "--region", "tx-vil", &missing],
        false,
        "line 1: the header has no column \"household\"",
    );

    let good = write(
        &tmp.0,
        "good.csv",
        "\u{feff}member,household,name,household_label\n1,1,张三,1号\n2,1,李四,1号\n3,2,王五,2号\n",
    );
    check(
        d,
        &["import", "members", "--region", "tx-vil", &good],
        true,
        "imported 3 members",
    );
    let members = check(
        d,
        &["export", "members", "--region", "tx-vil"],
        true,
        "2,1,1号,李四,",
    );
    assert_eq!(members.lines().count(), 4, "{members}");

    // Entries: all or nothing, by line, with the ledger's rules.
    let e_bad = write(
        &tmp.0,
        "e-bad.csv",
        "member,kind,amount\n1,base-grant,100\n2,base-grant,100\n9,base-grant,100\n",
    );
    check(
        d,
        &["import", "entries", "--region", "tx-vil", &e_bad],
        false,
        "line 4: member 9 in region tx-vil not found",
    );
    let e_kind = write(&tmp.0, "e-kind.csv", "member,kind,amount\n1,refund,5\n");
    check(
        d,
        &["import", "entries", "--region", "tx-vil", &e_kind],
        false,
        "line 2: a refund cannot be imported",
    );
    let e_good = write(
        &tmp.0,
        "e-good.csv",
        "member,kind,amount\n1,base-grant,100\n2,base-grant,100\n3,base-grant,100\n",
    );
    check(
        d,
        &["import", "entries", "--region", "tx-vil", &e_good],
        true,
        "imported 3 entries",
    );
    let entries = check(
        d,
        &["export", "entries", "--region", "tx-vil"],
        true,
        "tx-vil:2,2,",
    );
    assert_eq!(
        entries.lines().count(),
        4,
        "only the good import's entries exist:\n{entries}"
    );
    assert!(
        entries.contains(",base-grant,1,100,issuance,member:1,"),
        "{entries}"
    );

    let v = check(d, &["verify"], true, "ok tx-vil: 3 entries");
    assert!(v.contains("outstanding 300 points"), "{v}");
    let proof = check(
        d,
        &["log", "proof", "--entry", "tx-vil:1"],
        true,
        "c2sp.org/tlog-proof@v1\n",
    );
    let receipt = write(&tmp.0, "receipt.txt", &proof);
    let vkey = check(
        d,
        &["log", "vkey", "--region", "tx-vil"],
        true,
        "jifen.local/log/tx-vil+",
    );
    check(
        d,
        &["log", "check", "--vkey", vkey.trim(), &receipt],
        true,
        "ok: entry 1 of tx-vil",
    );
    check(
        d,
        &["log", "proof", "--entry", "tx-vil:3"],
        false,
        "entry tx-vil:3 not found",
    );
    check(
        d,
        &["log", "proof", "--entry", "tx-vil"],
        false,
        "must be <region>:<sequence number>",
    );
}

#[test]
fn demo_refuses_a_folder_with_data() {
    let tmp = temp("demo");
    let d = tmp.0.join("data");
    check(
        &d,
        &["init", "--region", "x", "--name", "x"],
        true,
        "created region x",
    );
    check(&d, &["demo"], false, "already holds 1 regions");
}

#[test]
fn bench_ingest_refuses_more_awards_a_member_than_the_cap_allows() {
    let tmp = temp("bench");
    let d = tmp.0.join("data");
    check(
        &d,
        &["bench", "ingest", "--entries", "1001", "--members", "10"],
        false,
        "give at least 11 members",
    );
}

/// The README's first command: the demo seeds and serves, and its accounts sign in.
#[test]
fn demo_serves_with_its_accounts() {
    use std::io::{BufRead, BufReader, Read as _, Write as _};
    let tmp = temp("serve");
    let data = tmp.0.join("data");
    let mut child = common::jifen(&data)
        .args([
            "demo",
            "--households",
            "4",
            "--serve",
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the demo");
    let stdout = child.stdout.take().expect("piped");
    let mut url = None;
    let mut accounts = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        if let Some(rest) = line.split("serving on ").nth(1) {
            url = rest.split_whitespace().next().map(str::to_owned);
        }
        if line.starts_with("  ") {
            accounts.push(
                line.split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
        if line.starts_with("sign in:") {
            break;
        }
    }
    let url = url.expect("the demo prints its URL");
    for want in [
        "admin",
        "reviewer",
        "reviewer2",
        "station",
        "merchant",
        "auditor",
        "resident",
    ] {
        assert!(
            accounts.iter().any(|a| a == want),
            "demo account {want} listed: {accounts:?}"
        );
    }
    let addr = url.trim_start_matches("http://");
    let body = r#"{"username":"reviewer","password":"demo"}"#;
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut res = String::new();
    s.read_to_string(&mut res).expect("read");
    // The two pilots' agreement and its one transfer, in Lianhua's public list.
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "GET /api/v1/regions/shenzhen-futian-lianhua/transfers-in HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut list = String::new();
    s.read_to_string(&mut list).expect("read");
    let _ = child.kill();
    let _ = child.wait();
    assert!(res.starts_with("HTTP/1.1 200"), "{res}");
    assert!(res.contains("\"token\""), "{res}");
    assert!(res.contains("\"role\":\"reviewer\""), "{res}");
    assert!(list.starts_with("HTTP/1.1 200"), "{list}");
    assert_eq!(list.matches("\"home_origin\":").count(), 1, "{list}");
    assert!(list.contains("/tongxiang-yuefeng\""), "{list}");
}

/// Four eyes for imports: an award row under an indicator that needs review becomes a
/// claim in the review queue, which the importing operator cannot approve and another
/// reviewer can; an award that names no indicator is refused by its line; rows under
/// an auto-reviewed indicator and base grants post at once.
#[test]
fn imported_awards_that_need_review_wait_for_someone_other_than_the_importer() {
    use jifen_core::{
        Caps, ClaimStatus, Claimants, Evidence, Indicator, IndicatorCode, OperatorId, Points,
        RegionCode, ReviewPolicy, Reviewer, clock::parse_date,
    };
    let tmp = temp("import-claims");
    let d = tmp.0.join("data");
    check(
        &d,
        &["init", "--region", "vil", "--name", "村"],
        true,
        "created",
    );
    let members = write(
        &tmp.0,
        "m.csv",
        "member,household,name\n1,1,张三\n2,2,李四\n",
    );
    check(
        &d,
        &["import", "members", "--region", "vil", &members],
        true,
        "imported 2",
    );
    let vil = RegionCode::parse("vil").expect("code");
    {
        let store = jifen_store::Store::open_with(
            &d,
            &jifen_store::Database::Sqlite,
            std::sync::Arc::new(common::pinned_clock()),
        )
        .expect("open");
        for (code, review) in [("MEET", ReviewPolicy::One), ("WASTE", ReviewPolicy::Auto)] {
            store
                .put_indicator(Indicator {
                    region: vil.clone(),
                    code: IndicatorCode::parse(code).expect("code"),
                    version: 1,
                    name: code.to_owned(),
                    category: "自治".into(),
                    points: Points::new(5),
                    unit: "次".into(),
                    caps: Caps::default(),
                    evidence: Evidence::None,
                    review,
                    claimants: Claimants::Residents,
                    valid_from: parse_date("2020-01-01").expect("date"),
                    valid_to: None,
                    core: false,
                    notice_days: 0,
                })
                .expect("indicator");
        }
        store.close();
    }
    let bare = write(&tmp.0, "bare.csv", "member,kind,amount\n1,award,5\n");
    check(
        &d,
        &["import", "entries", "--region", "vil", &bare],
        false,
        "line 2: an award row must name its indicator",
    );
    let wrong = write(
        &tmp.0,
        "wrong.csv",
        "member,kind,amount,indicator,indicator_version,quantity\n1,award,7,MEET,1,1\n",
    );
    check(
        &d,
        &["import", "entries", "--region", "vil", &wrong],
        false,
        "line 2: amount 7 is not 5 points × quantity 1 = 5",
    );
    let rows = write(
        &tmp.0,
        "rows.csv",
        "member,kind,amount,indicator,indicator_version,quantity\n\
         1,award,10,MEET,1,2\n2,award,5,WASTE,1,1\n2,base-grant,100,,,\n",
    );
    check(
        &d,
        &["import", "entries", "--region", "vil", &rows],
        true,
        "imported 2 entries into vil; 1 rows under indicators that need review wait as claims",
    );
    let store = jifen_store::Store::open_with(
        &d,
        &jifen_store::Database::Sqlite,
        std::sync::Arc::new(common::pinned_clock()),
    )
    .expect("open");
    let claims = store.claims(&vil, None, None, 0, 10).expect("claims");
    let waiting: Vec<_> = claims
        .iter()
        .filter(|c| c.status == ClaimStatus::Submitted)
        .collect();
    assert_eq!(waiting.len(), 1, "{claims:?}");
    let claim = waiting[0];
    assert_eq!(claim.source.as_str(), "import");
    assert_eq!(claim.submitted_by.get(), 1, "the import's operator");
    assert_eq!(claim.quantity, 2);
    let reviewer = |n| Reviewer {
        operator: OperatorId::new(n).expect("positive"),
        member: None,
        household: None,
    };
    let e = store
        .review_claim(vil.clone(), claim.id, reviewer(1), true)
        .expect_err("the importer cannot approve");
    assert!(e.to_string().contains("you recorded this claim"), "{e}");
    let done = store
        .review_claim(vil.clone(), claim.id, reviewer(2), true)
        .expect("another reviewer approves");
    assert_eq!(done.status, ClaimStatus::Posted);
    store.close();
    check(&d, &["verify"], true, "ok vil: 3 entries");
}

/// `jifen bench api` posts its awards as a client must, each with its own
/// `Idempotency-Key`: every request posts, and the log grows by as many entries.
#[test]
fn bench_api_posts_every_request_with_its_own_key() {
    let tmp = temp("bench-api");
    let out = check(
        &tmp.0.join("data"),
        &[
            "bench",
            "api",
            "--requests",
            "300",
            "--clients",
            "8",
            "--dir",
            tmp.0.to_str().expect("UTF-8 path"),
        ],
        true,
        "errors 0",
    );
    assert!(
        out.contains("grew by 300 entries for 300 successful requests: equal"),
        "{out}"
    );
}
