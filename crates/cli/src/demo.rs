//! `jifen demo`: two pilots modelled on the seed document, last year (closed) and this year so far
//! posted through the same claim → review → post paths a community would use.
//!
//! - Tongxiang (桐乡市) with the village 越丰村 (tongxiang-yuefeng): the "三治积分"
//!   rulebook: base 100 a year, +5 village council meeting, +10 mediating a
//!   dispute, +2 a tree planted, −2 littering, −5 breaking village rules; levels
//!   at 800 and 1000; plus the village's own "X" indicator (waste sorting).
//! - Shenzhen (深圳市) > Futian (福田区) > 莲花北社区 (shenzhen-futian-lianhua):
//!   the city rulebook with the three categories 公共参与 / 文明行为 / 创新贡献.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc;

use anyhow::{Context, Result, bail};
use jifen_core::fairness::Residence;
use jifen_core::{
    AppealDecision, AppealId, Caps, ClaimId, Claimants, EntryKind, Evidence, FixedClock,
    HouseholdId, Indicator, IndicatorCode, Level, Levels, MemberId, NewEntry, OperatorId, Points,
    Reason, Region, RegionCode, RegionKind, ReviewPolicy, Role, Source, SponsorCode, Timestamp,
    clock::parse_date,
};
use jifen_store::admin::NewRegion;
use jifen_store::read::ClaimView;
use jifen_store::workflow::NewClaim;
use jifen_store::{
    Append, Attributes, Command, ImportMembers, MemberRow, ReviewClaim, Store, StoreError,
};
use time::Date;

/// Demo staff, as operator ids; issue #3's accounts take the same numbers.
pub const ADMIN: i64 = 1;
pub const REVIEWER: i64 = 2;
pub const REVIEWER2: i64 = 3;
/// A third reviewer who takes most of the queue and never refuses: the reviewer the
/// evaluation must find (人情分).
pub const REVIEWER3: i64 = 12;
pub const STATION: i64 = 4;
/// Claims residents make themselves at the self-service kiosk (自助终端).
pub const SELF_SERVICE: i64 = 9;

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Households in each of the two demo communities.
    #[arg(long, default_value_t = 150)]
    households: u32,
    /// Seed of the activity generator: the same seed gives the same people and history.
    #[arg(long, default_value_t = 2014)]
    seed: u64,
    /// Then serve the demo over HTTP (as `jifen serve`).
    #[arg(long)]
    serve: bool,
    /// Address to listen on with --serve.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
}

/// The demo's password for every demo account.
pub const DEMO_PASSWORD: &str = "demo";

/// Demo accounts: (id, username, display name, role). Each holds its role in every
/// demo region; residents where they have a member record.
const DEMO_ACCOUNTS: &[(i64, &str, &str, Role)] = &[
    (ADMIN, "admin", "管理员", Role::Admin),
    (REVIEWER, "reviewer", "审核员 王", Role::Reviewer),
    (REVIEWER2, "reviewer2", "审核员 李", Role::Reviewer),
    (STATION, "station", "线下积分点", Role::Station),
    (COOP_SHOP, "merchant", "合作商家 供销社", Role::Merchant),
    (6, "auditor", "第三方评估", Role::Auditor),
    (7, "resident", "居民一", Role::Resident),
    (8, "resident2", "居民二", Role::Resident),
    (SELF_SERVICE, "kiosk", "自助终端", Role::Station),
    (10, "resident3", "居民三", Role::Resident),
    (TOWN_SHOP, "town", "镇积分超市", Role::Merchant),
    (REVIEWER3, "reviewer3", "审核员 张", Role::Reviewer),
];

/// The merchant account that hands over rewards funded by the town's budget line.
pub const TOWN_SHOP: i64 = 11;
/// The partner merchant (供销社) that hands over the co-op's rewards.
pub const COOP_SHOP: i64 = 5;

/// splitmix64: a small deterministic generator for demo data only.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// True with probability `p` (0..=1).
    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[usize::try_from(self.below(items.len() as u64)).unwrap_or(0)]
    }
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "沈",
    "钱", "姚", "蒋", "顾",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建国", "志强", "海燕", "小红", "德华",
    "春梅", "国庆",
];

fn code(s: &str) -> RegionCode {
    RegionCode::parse(s).expect("demo codes are valid")
}
fn ind_code(s: &str) -> IndicatorCode {
    IndicatorCode::parse(s).expect("demo codes are valid")
}

#[allow(
    clippy::too_many_arguments,
    reason = "a table of demo indicators reads best as one call a row"
)]
fn indicator(
    region: &str,
    code: &str,
    name: &str,
    category: &str,
    points: i64,
    unit: &str,
    caps: Caps,
    review: ReviewPolicy,
    core: bool,
    notice_days: u32,
) -> Indicator {
    Indicator {
        region: self::code(region),
        code: ind_code(code),
        version: 1,
        name: name.into(),
        category: category.into(),
        points: Points::new(points),
        unit: unit.into(),
        caps,
        evidence: if points > 0 {
            Evidence::Note
        } else {
            Evidence::None
        },
        review,
        claimants: if points > 0 {
            Claimants::Residents
        } else {
            Claimants::StaffOnly
        },
        valid_from: parse_date("2020-01-01").expect("valid date"),
        valid_to: None,
        core,
        notice_days,
    }
}

fn caps(day: Option<u32>, month: Option<u32>, year: Option<u32>) -> Caps {
    Caps {
        per_day: day,
        per_month: month,
        per_year: year,
    }
}

fn op(n: i64) -> OperatorId {
    OperatorId::new(n).expect("positive")
}

/// Runs commands in one go (they share batches) and waits for all their results, in order.
fn run_all<C: Command>(store: &Store, cmds: Vec<C>) -> Result<Vec<jifen_store::Result<C::Output>>> {
    let (tx, rx) = mpsc::channel();
    let n = cmds.len();
    for (i, cmd) in cmds.into_iter().enumerate() {
        let tx = tx.clone();
        store.run_with(cmd, move |r| {
            let _ = tx.send((i, r));
        })?;
    }
    drop(tx);
    let mut out: Vec<Option<jifen_store::Result<C::Output>>> = (0..n).map(|_| None).collect();
    for (i, r) in rx {
        out[i] = Some(r);
    }
    out.into_iter()
        .map(|r| r.ok_or_else(|| anyhow::anyhow!("the writer dropped a demo job")))
        .collect()
}

/// Two reviewers work through the queue, four eyes: a claim a reviewer recorded
/// (a deduction, say) is decided by the other; a second approval by the other
/// reviewer, or by the admin when the other one recorded it. Each claim goes to
/// the next of its three in turn, all claims of a round together.
fn review_all(
    store: &Store,
    queue: Vec<(RegionCode, ClaimId, bool, [i64; 3])>,
) -> Result<Vec<jifen_store::Result<ClaimView>>> {
    let mut done: Vec<Option<jifen_store::Result<ClaimView>>> =
        (0..queue.len()).map(|_| None).collect();
    // (position, last partial approval) of the claims still going round.
    let mut going: Vec<(usize, Option<ClaimView>)> = (0..queue.len()).map(|i| (i, None)).collect();
    for round in 0..3 {
        let cmds = going
            .iter()
            .map(|(i, _)| {
                let (region, claim, approve, by) = &queue[*i];
                ReviewClaim {
                    region: region.clone(),
                    claim: *claim,
                    operator: op(by[round]),
                    member: None,
                    approve: *approve,
                    reason: (!*approve).then(|| "证据不足：请补充照片或证明人".to_owned()),
                }
            })
            .collect();
        let results = run_all(store, cmds)?;
        let mut next = Vec::new();
        for ((i, last), r) in going.into_iter().zip(results) {
            match r {
                Ok(v) if v.status == jifen_core::ClaimStatus::PartlyApproved => {
                    next.push((i, Some(v)))
                }
                Ok(v) => done[i] = Some(Ok(v)),
                // The recorder, or someone who approved already: the next one.
                Err(StoreError::Forbidden(_)) => next.push((i, last)),
                Err(e) => done[i] = Some(Err(e)),
            }
        }
        going = next;
    }
    for (i, last) in going {
        let (_, claim, _, _) = &queue[i];
        done[i] = Some(last.map(Ok).unwrap_or_else(|| {
            Err(StoreError::rejected(format!(
                "nobody in the demo could review claim {claim}"
            )))
        }));
    }
    done.into_iter()
        .map(|r| r.ok_or_else(|| anyhow::anyhow!("a demo review went missing")))
        .collect()
}

struct Person {
    region: RegionCode,
    id: MemberId,
    /// How engaged: 0 quiet .. 3 very active.
    zeal: u8,
    elderly: bool,
}

pub fn run(data: &Path, args: DemoArgs) -> Result<ExitCode> {
    if args.households == 0 || args.households > 100_000 {
        bail!("--households must be between 1 and 100000");
    }
    if *crate::database() != jifen_store::Database::Sqlite || Store::exists(data) {
        let store = crate::open_store(data, crate::clock())?;
        let n = store.regions()?.len();
        let seeded = store.account_by_username("admin")?.is_some();
        if n > 0 && seeded && args.serve {
            // Seeded before: serve what is there rather than refuse.
            println!("{} holds the demo already; serving it", data.display());
            return crate::serve::serve(data, store, args.listen, &Default::default(), banner);
        }
        store.close();
        if n > 0 {
            bail!(
                "{} already holds {n} regions; the demo needs an empty data folder (pass another --data)",
                data.display()
            );
        }
    }
    let today = jifen_core::Clock::now(crate::clock().as_ref())
        .local_date(jifen_core::clock::CHINA_OFFSET_MINUTES)
        .context("today's date")?;
    // Whole calendar years: all of last year (closed below, with its levels and model
    // households) and this year up to yesterday, whatever today is.
    let start = Date::from_calendar_date(today.year() - 1, time::Month::January, 1)
        .context("the first day of last year")?;
    let clock = Arc::new(FixedClock::new(at(start, 8)?));
    let store = crate::open_store(data, clock.clone())?;
    let mut rng = Rng(args.seed);

    eprintln!("creating regions, rulebooks and residents ...");
    let regions = [
        ("tongxiang", "桐乡市", RegionKind::City, None),
        (
            "tongxiang-yuefeng",
            "越丰村",
            RegionKind::Village,
            Some("tongxiang"),
        ),
        ("shenzhen", "深圳市", RegionKind::City, None),
        (
            "shenzhen-futian",
            "福田区",
            RegionKind::District,
            Some("shenzhen"),
        ),
        (
            "shenzhen-futian-lianhua",
            "莲花北社区",
            RegionKind::Community,
            Some("shenzhen-futian"),
        ),
    ];
    for (c, name, kind, parent) in regions {
        let region = Region::new(code(c), name, kind, parent.map(code))?;
        store.create_region(NewRegion {
            region,
            origin_prefix: crate::ORIGIN_PREFIX_DEFAULT.into(),
        })?;
    }
    let one = ReviewPolicy::One;
    for ind in [
        // Tongxiang's core rulebook, inherited by every village of the city ("10").
        indicator(
            "tongxiang",
            "TX-COUNCIL",
            "参加村民议事会",
            "自治",
            5,
            "次",
            caps(Some(1), Some(2), None),
            one,
            true,
            0,
        ),
        indicator(
            "tongxiang",
            "TX-MEDIATE",
            "调解邻里纠纷",
            "法治",
            10,
            "次",
            caps(None, Some(3), None),
            ReviewPolicy::TwoAbove(Points::new(10)),
            true,
            3,
        ),
        indicator(
            "tongxiang",
            "TX-TREE",
            "植树",
            "德治",
            2,
            "棵",
            caps(None, None, Some(50)),
            one,
            true,
            0,
        ),
        indicator(
            "tongxiang",
            "TX-VOLUNTEER",
            "志愿服务",
            "德治",
            3,
            "次",
            caps(Some(1), None, None),
            one,
            true,
            0,
        ),
        indicator(
            "tongxiang",
            "TX-LITTER",
            "乱扔垃圾",
            "德治",
            -2,
            "次",
            Caps::default(),
            one,
            true,
            0,
        ),
        indicator(
            "tongxiang",
            "TX-RULES",
            "违反村规民约",
            "自治",
            -5,
            "次",
            Caps::default(),
            one,
            true,
            0,
        ),
        // The village's own ("X").
        indicator(
            "tongxiang-yuefeng",
            "YF-WASTE",
            "垃圾分类",
            "德治",
            1,
            "天",
            caps(Some(1), None, None),
            ReviewPolicy::Auto,
            false,
            0,
        ),
        // Shenzhen's city rulebook: 公共参与 / 文明行为 / 创新贡献.
        indicator(
            "shenzhen",
            "SZ-MEETING",
            "参与社区议事",
            "公共参与",
            10,
            "次",
            caps(None, Some(4), None),
            one,
            true,
            0,
        ),
        indicator(
            "shenzhen",
            "SZ-HAZARD",
            "举报安全隐患",
            "公共参与",
            5,
            "次",
            caps(Some(2), None, None),
            one,
            true,
            0,
        ),
        indicator(
            "shenzhen",
            "SZ-VOLUNTEER",
            "志愿服务",
            "公共参与",
            2,
            "小时",
            caps(Some(8), None, None),
            one,
            true,
            0,
        ),
        indicator(
            "shenzhen",
            "SZ-BLOOD",
            "无偿献血",
            "文明行为",
            20,
            "次",
            caps(None, None, Some(4)),
            one,
            true,
            0,
        ),
        indicator(
            "shenzhen",
            "SZ-PROPOSAL",
            "治理建议被采纳",
            "创新贡献",
            50,
            "项",
            Caps::default(),
            ReviewPolicy::TwoAbove(Points::new(50)),
            true,
            7,
        ),
        indicator(
            "shenzhen",
            "SZ-VIOLATION",
            "违反文明公约",
            "文明行为",
            -5,
            "次",
            Caps::default(),
            one,
            true,
            0,
        ),
        indicator(
            "shenzhen-futian-lianhua",
            "LH-ELDER",
            "探访独居老人",
            "文明行为",
            3,
            "次",
            caps(None, Some(8), None),
            one,
            false,
            0,
        ),
    ] {
        store.put_indicator(ind)?;
    }
    let lv = |c: &str, n: &str, min: i64| Level {
        code: c.into(),
        name: n.into(),
        min_score: Points::new(min),
    };
    store.set_levels(
        code("tongxiang-yuefeng"),
        Levels::new(vec![
            lv("voucher", "可兑换购物券", 800),
            lv("model", "积分示范户", 1000),
        ])?,
    )?;
    store.set_levels(
        code("shenzhen-futian-lianhua"),
        Levels::new(vec![
            lv("bronze", "铜牌", 200),
            lv("silver", "银牌", 500),
            lv("gold", "金牌", 1000),
        ])?,
    )?;
    // The points supermarkets (积分超市): policies, sponsors, shelves.
    let catalog = setup_market(&store, start)?;
    // The indicators that deduct points: their entries are the ones residents appeal.
    let mut deductions = std::collections::HashSet::new();
    for r in ["tongxiang-yuefeng", "shenzhen-futian-lianhua"] {
        for ind in store.visible_indicators(&code(r))? {
            if ind.points.get() < 0 {
                deductions.insert(ind.code);
            }
        }
    }

    // Residents.
    let mut people: Vec<Person> = Vec::new();
    for (region, (lo, hi)) in [
        ("tongxiang-yuefeng", (2u64, 5u64)),
        ("shenzhen-futian-lianhua", (1, 4)),
    ] {
        let region = code(region);
        // (household label, [(name, zeal, elderly, attributes)])
        type Plan = Vec<(String, Vec<(String, u8, bool, Attributes)>)>;
        let mut plan: Plan = Vec::new();
        for h in 0..args.households {
            let surname = *rng.pick(SURNAMES);
            let label = format!("{}号", h + 1);
            let size = lo + rng.below(hi - lo + 1);
            let mut members = Vec::new();
            for _ in 0..size {
                let name = format!("{surname}{}", rng.pick(GIVEN));
                let zeal = match rng.below(100) {
                    0..=29 => 0,
                    30..=69 => 1,
                    70..=91 => 2,
                    _ => 3,
                };
                // The picture the evaluation must show (its section 3): those who work
                // away (外出务工) are seldom here to earn, and the oldest seldom come.
                let elderly = rng.chance(0.2);
                let migrant = !elderly && rng.chance(0.15);
                let birth_year = if elderly {
                    1936 + rng.below(25)
                } else {
                    1961 + rng.below(44)
                } as i32;
                let zeal = if migrant || birth_year <= 1950 {
                    zeal.min(1)
                } else {
                    zeal
                };
                let residence = match (migrant, rng.below(10)) {
                    (true, _) => Residence::Migrant,
                    (false, 0) => Residence::Floating,
                    _ => Residence::Resident,
                };
                let attributes = Attributes {
                    birth_year: Some(birth_year),
                    residence: Some(residence),
                };
                members.push((name, zeal, elderly, attributes));
            }
            plan.push((label, members));
        }
        // Households numbered 1, 2, ... in the new community, in one import.
        let mut rows = Vec::new();
        let mut traits = Vec::new();
        for (h, (label, members)) in (1..).zip(plan) {
            let household = HouseholdId::new(h)?;
            for (name, zeal, elderly, attributes) in members {
                rows.push(MemberRow {
                    line: None,
                    member: None,
                    household,
                    household_label: Some(label.clone()),
                    name,
                    attributes,
                });
                traits.push((zeal, elderly));
            }
        }
        let ids = store.run(ImportMembers {
            region: region.clone(),
            rows,
        })?;
        for (id, (zeal, elderly)) in ids.into_iter().zip(traits) {
            people.push(Person {
                region: region.clone(),
                id,
                zeal,
                elderly,
            });
        }
    }
    eprintln!(
        "{} residents in {} households; simulating {start} .. {today} ...",
        people.len(),
        args.households * 2
    );

    let mut claims_total = 0u64;
    let mut appeals: Vec<(RegionCode, u64, MemberId, Date)> = Vec::new();
    let mut open_appeals: Vec<(RegionCode, AppealId, Date)> = Vec::new();
    let mut day = start;
    let mut last_year: Option<i32> = None;
    let mut open_redemptions: Vec<jifen_store::market::RedemptionView> = Vec::new();
    while day < today {
        // New year: close the last one (levels, model households, expiry, and this
        // year's base grant); the first year's base grant (基础分) is posted directly.
        if let Some(prev) = last_year
            && prev != day.year()
        {
            clock.set(at(day, 8)?);
            for r in ["tongxiang-yuefeng", "shenzhen-futian-lianhua"] {
                let s = store.close_year(&code(r), prev, op(ADMIN), |_| {})?;
                eprintln!(
                    "closed {prev} in {r}: {} model households, {} points granted for {}, {} points expired",
                    s.model_households,
                    s.granted,
                    prev + 1,
                    s.expired
                );
            }
            last_year = Some(day.year());
        }
        if last_year.is_none() {
            clock.set(at(day, 8)?);
            let year = day.year();
            let grants: Vec<Append> = people
                .iter()
                .filter(|p| base_points(&p.region) > 0)
                .map(|p| Append {
                    region: p.region.clone(),
                    entry: base_grant(p.id, year, base_points(&p.region)),
                    idempotency_key: Some(format!("base-grant-{year}-{}", p.id)),
                })
                .collect();
            for r in run_all(&store, grants)? {
                r?;
            }
            last_year = Some(year);
        }
        // Morning: residents claim; staff record deductions and station visits.
        clock.set(at(day, 10)?);
        let mut claims: Vec<NewClaim> = Vec::new();
        let month_day = day.day();
        let weekday = day.weekday().number_days_from_monday();
        for p in &people {
            let tx = p.region.as_str().starts_with("tongxiang");
            let z = f64::from(p.zeal);
            let mut claim =
                |indicator: &str, quantity: u32, source: Source, by: i64, note: &str| {
                    let c = NewClaim {
                        region: p.region.clone(),
                        member: p.id,
                        indicator: ind_code(indicator),
                        quantity,
                        note: note.into(),
                        source,
                        submitted_by: op(by),
                        by_staff: source != Source::Claim,
                    };
                    claims.push(c);
                };
            // Residents claim for themselves; the elderly at the offline station.
            let (src, by) = if p.elderly {
                (Source::Station, STATION)
            } else {
                (Source::Claim, SELF_SERVICE)
            };
            if tx {
                if month_day == 5 && rng.chance(0.25 + 0.2 * z) {
                    claim("TX-COUNCIL", 1, src, by, "参加本月村民议事会");
                }
                if rng.chance(0.0015 * z) {
                    claim("TX-MEDIATE", 1, src, by, "调解邻里宅基地纠纷,双方签字");
                }
                if day.month() == time::Month::March && month_day == 12 && rng.chance(0.5) {
                    claim(
                        "TX-TREE",
                        1 + u32::try_from(rng.below(6)).unwrap_or(0),
                        src,
                        by,
                        "植树节义务植树",
                    );
                }
                if weekday == 5 && rng.chance(0.1 * z) {
                    claim("TX-VOLUNTEER", 1, src, by, "村道清扫志愿服务");
                }
                if p.zeal >= 2 && rng.chance(0.25 * z) {
                    claim("YF-WASTE", 1, src, by, "垃圾分类投放");
                }
                if rng.chance(0.0012) {
                    claim("TX-LITTER", 1, Source::Direct, REVIEWER, "");
                }
                if rng.chance(0.0004) {
                    claim("TX-RULES", 1, Source::Direct, REVIEWER, "");
                }
            } else {
                if month_day == 15 && rng.chance(0.2 + 0.2 * z) {
                    claim("SZ-MEETING", 1, src, by, "参加社区议事会");
                }
                if rng.chance(0.002 * z) {
                    claim("SZ-HAZARD", 1, src, by, "楼道堆放杂物,已拍照上报");
                }
                if weekday == 6 && rng.chance(0.12 * z) {
                    claim(
                        "SZ-VOLUNTEER",
                        1 + u32::try_from(rng.below(4)).unwrap_or(0),
                        src,
                        by,
                        "社区志愿服务",
                    );
                }
                if rng.chance(0.0008 * (1.0 + z)) && !p.elderly {
                    claim("SZ-BLOOD", 1, src, by, "无偿献血证");
                }
                if rng.chance(0.0002 * z) {
                    claim("SZ-PROPOSAL", 1, src, by, "关于加装电梯的建议被采纳");
                }
                if weekday == 2 && rng.chance(0.05 * z) {
                    claim("LH-ELDER", 1, src, by, "探访独居老人");
                }
                if rng.chance(0.0008) {
                    claim("SZ-VIOLATION", 1, Source::Direct, REVIEWER, "");
                }
            }
        }
        let submitted = run_all(&store, claims)?;
        let mut to_review: Vec<(RegionCode, ClaimId)> = Vec::new();
        for r in submitted {
            match r {
                Ok(v) if v.status == jifen_core::ClaimStatus::Submitted => {
                    to_review.push((v.region, v.id))
                }
                Ok(_) => {}
                Err(e) if e.is_refusal() => {} // a cap, say: the resident is told, nothing posts
                Err(e) => return Err(e.into()),
            }
            claims_total += 1;
        }
        // Evening: the reviewers work through the queue; the third takes over half
        // of it and approves everything.
        clock.set(at(day, 18)?);
        let mut queue = Vec::new();
        for (region, claim) in to_review {
            let first = match rng.below(10) {
                0..=1 => REVIEWER,
                2..=3 => REVIEWER2,
                _ => REVIEWER3,
            };
            let approve = first == REVIEWER3 || !rng.chance(0.06);
            let second = if first == REVIEWER {
                REVIEWER2
            } else {
                REVIEWER
            };
            queue.push((region, claim, approve, [first, second, ADMIN]));
        }
        for r in review_all(&store, queue)? {
            match r {
                Ok(v) => {
                    if let Some(seq) = v.entry_seq
                        && deductions.contains(&v.indicator.code)
                        && rng.chance(0.3)
                    {
                        appeals.push((
                            v.region.clone(),
                            seq,
                            v.member,
                            day + time::Duration::days(2),
                        ));
                    }
                }
                Err(e) if e.is_refusal() => {}
                Err(e) => return Err(e.into()),
            }
        }
        // Afternoon: the points supermarket. Yesterday's reservations are mostly
        // handed over (the merchant confirms the code), a few cancelled; some are
        // never collected and expire with a refund. Then today's reservations.
        clock.set(at(day, 15)?);
        redeem_day(&store, &mut rng, &people, &catalog, &mut open_redemptions)?;
        // Public notices that ended today post; appeals are filed and decided.
        for r in ["tongxiang-yuefeng", "shenzhen-futian-lianhua"] {
            store.end_notices(code(r), op(ADMIN))?;
        }
        let (due, later): (Vec<_>, Vec<_>) = appeals.drain(..).partition(|a| a.3 <= day);
        appeals = later;
        for (region, seq, member, _) in due {
            let (id, _) = store.file_appeal(
                region.clone(),
                seq,
                member,
                "当时并非本人所为,有邻居可以作证",
            )?;
            open_appeals.push((region, id, day + time::Duration::days(5)));
        }
        let (decide, wait): (Vec<_>, Vec<_>) = open_appeals.drain(..).partition(|a| a.2 <= day);
        open_appeals = wait;
        for (region, id, _) in decide {
            let decision = match rng.below(10) {
                0..=3 => AppealDecision::Overturn,
                4..=7 => AppealDecision::Uphold,
                _ => AppealDecision::Adjust(Points::new(1)),
            };
            store.decide_appeal(region, id, op(ADMIN), decision)?;
        }
        day = day.next_day().context("calendar")?;
    }
    store.close();
    let store = crate::open_store(data, crate::clock())?;
    // Last year is closed, also on New Year's Day, when the simulation stops before it.
    for r in ["tongxiang-yuefeng", "shenzhen-futian-lianhua"] {
        store.close_year(&code(r), today.year() - 1, op(ADMIN), |_| {})?;
    }
    create_accounts(&store, &regions.map(|r| code(r.0)))?;
    recognition(&store, today)?;
    for r in store.regions()? {
        println!(
            "{}\t{}\tmembers={}\tentries={}",
            r.region.code, r.region.name, r.members, r.size
        );
    }
    println!(
        "demo data in {}: {claims_total} claims from {start} to {today}; try `jifen --data {} verify`",
        data.display(),
        data.display()
    );
    if args.serve {
        return crate::serve::serve(data, store, args.listen, &Default::default(), banner);
    }
    store.close();
    Ok(ExitCode::SUCCESS)
}

/// The two pilots recognise each other's points (积分互认): each village's admin sets
/// its half (both ways, 1 : 1, at most 200 a year, stated scores counting toward
/// levels); resident2 (member 2 of both, a Yuefeng villager working in Lianhua) takes
/// 20 points to Lianhua with a statement, and has last year's scores stated there too.
fn recognition(store: &Store, today: Date) -> Result<()> {
    let (yuefeng, lianhua) = (code("tongxiang-yuefeng"), code("shenzhen-futian-lianhua"));
    let from = Date::from_calendar_date(today.year(), time::Month::January, 1)
        .context("the first day of this year")?;
    for (region, partner, name) in [
        (&yuefeng, &lianhua, "lianhua"),
        (&lianhua, &yuefeng, "yuefeng"),
    ] {
        let other = store.region(partner)?;
        store.put_agreement(
            region.clone(),
            code(name),
            jifen_core::recognition::Agreement {
                partner_origin: other.origin,
                partner_vkey: other.vkey,
                send: true,
                receive: true,
                categories: vec![],
                rate_num: 1,
                rate_den: 1,
                cap_per_member_year: Points::new(200),
                valid_from: from,
                valid_to: None,
                witnesses: vec![],
                quorum: 0,
                count_scores: true,
            },
        )?;
    }
    let member = MemberId::new(2).context("member 2")?;
    let points = store
        .balance(&yuefeng, member, today.year())?
        .spendable
        .get()
        .clamp(0, 20);
    if points == 0 {
        return Ok(());
    }
    let out = store.run(jifen_store::transfer::TransferOut {
        region: yuefeng.clone(),
        member,
        partner: code("lianhua"),
        points: Points::new(points),
        by: op(STATION),
    })?;
    let (_, statement) = store.statement(&yuefeng, out.transfer)?;
    store.run(jifen_store::transfer::TransferIn {
        region: lianhua.clone(),
        member,
        document: statement,
        secret: out.secret,
        by: op(STATION),
    })?;
    let (scores, secret) = store.score_statement(&yuefeng, member, &code("lianhua"))?;
    store.run(jifen_store::scores::TakeScores {
        region: lianhua,
        member,
        document: scores,
        secret,
        by: op(STATION),
    })?;
    Ok(())
}

fn base_grant(member: MemberId, year: i32, amount: i64) -> NewEntry {
    NewEntry {
        kind: EntryKind::BaseGrant,
        member,
        amount: Points::new(amount),
        indicator: None,
        quantity: 1,
        reason: Reason::new(Source::Year, u64::try_from(year).unwrap_or(0)),
        operator: op(ADMIN),
        reverses: None,
        sponsor: None,
        counts_annual: false,
    }
}

/// A local (UTC+8) hour of a date.
fn at(date: Date, hour: u8) -> Result<Timestamp> {
    let t = Timestamp::start_of(date, jifen_core::clock::CHINA_OFFSET_MINUTES)?;
    Ok(Timestamp::from_millis(
        t.millis() + i64::from(hour) * 3_600_000,
    ))
}

/// Demo accounts with the password `demo`, each holding its role in every demo
/// region (residents in the regions where they have a member record).
fn create_accounts(store: &Store, regions: &[RegionCode]) -> Result<()> {
    let hash = jifen_server::auth::hash_password(DEMO_PASSWORD)
        .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    let mut resident_no = 0i64;
    for (id, user, name, role) in DEMO_ACCOUNTS {
        let id = store.create_account(Some(op(*id)), user, name, Some(hash.clone()))?;
        if *role == Role::Resident {
            resident_no += 1;
        }
        for r in regions {
            let member = if *role == Role::Resident {
                // The n-th resident account is the region's member n, if the region has members.
                match store.members(r, resident_no - 1, 1)?.into_iter().next() {
                    Some(m) if m.id.get() == resident_no => Some(m.id),
                    _ => continue,
                }
            } else {
                None
            };
            let sponsor = (*role == Role::Merchant).then(|| {
                SponsorCode::parse(if *user == "town" { "town" } else { "coop" })
                    .expect("valid code")
            });
            store.grant_role(
                id,
                jifen_store::accounts::Grant {
                    region: r.clone(),
                    role: *role,
                    member,
                    sponsor,
                },
            )?;
        }
    }
    Ok(())
}

/// What `demo --serve` prints once listening: the URL and the demo accounts.
fn banner(url: &str) {
    println!("\njifen demo serving on {url}  (API docs: {url}/api/docs; Ctrl-C stops)");
    println!("demo accounts, password \"{DEMO_PASSWORD}\":");
    for (id, user, name, role) in DEMO_ACCOUNTS {
        println!("  {user:<10} {:<9} #{id} {name}", role.as_str());
    }
    println!(
        "sign in: curl -s {url}/api/v1/auth/login -H 'content-type: application/json' -d '{{\"username\":\"reviewer\",\"password\":\"demo\"}}'"
    );
}

/// Each demo community's base grant (基础分) a year.
fn base_points(region: &RegionCode) -> i64 {
    if region.as_str().starts_with("tongxiang") {
        100
    } else {
        50
    }
}

/// Rewards on offer per region: (region, reward id).
type Catalog = Vec<(RegionCode, u64)>;

/// Policies, sponsors and shelves of the two demo communities.
fn setup_market(store: &Store, start: Date) -> Result<Catalog> {
    use jifen_core::market::{Policy, Reward, RewardKind, Sponsor, SponsorKind};
    let mut catalog = Vec::new();
    for (r, expiry, model) in [
        // Tongxiang: points last two years; a household of the village's best passes 400.
        ("tongxiang-yuefeng", Some(2), 400),
        // Shenzhen-style: points are cleared each year (年度清零); households pass 300.
        ("shenzhen-futian-lianhua", Some(1), 300),
    ] {
        let region = code(r);
        store.set_policy(
            region.clone(),
            Policy {
                reservation_hours: 72,
                base_grant: Points::new(base_points(&region)),
                expiry_years: expiry,
                model_household_score: Some(Points::new(model)),
            },
        )?;
        for (sp, name, kind, budget) in [
            ("coop", "供销社", SponsorKind::Merchant, 200_000),
            // A small budget line, spent before the year is out: redemptions stop with the reason.
            ("town", "镇政府积分兑换专项", SponsorKind::Budget, 1_500),
        ] {
            store.put_sponsor(
                region.clone(),
                Sponsor {
                    code: SponsorCode::parse(sp).expect("valid code"),
                    name: name.into(),
                    kind,
                    budget: Points::new(budget),
                },
            )?;
        }
        let shelf: &[(
            &str,
            &str,
            RewardKind,
            i64,
            u32,
            Option<&str>,
            Option<(u32, jifen_core::CapPeriod)>,
            &str,
        )] = if r.starts_with("tongxiang") {
            &[
                (
                    "大米 5kg",
                    "东北大米,凭码到村积分超市领取",
                    RewardKind::Goods,
                    50,
                    400,
                    None,
                    None,
                    "coop",
                ),
                (
                    "食用油 1.8L",
                    "每户每月限兑一次",
                    RewardKind::Goods,
                    40,
                    300,
                    None,
                    Some((1, jifen_core::CapPeriod::Month)),
                    "coop",
                ),
                ("洗衣液", "", RewardKind::Goods, 20, 500, None, None, "coop"),
                (
                    "理发服务",
                    "村文化礼堂每周三上午",
                    RewardKind::Service,
                    30,
                    200,
                    None,
                    None,
                    "town",
                ),
                (
                    "农资抵用券 100 元",
                    "需达到可兑换购物券等级",
                    RewardKind::Voucher,
                    100,
                    50,
                    Some("voucher"),
                    None,
                    "coop",
                ),
            ]
        } else {
            &[
                (
                    "社区食堂餐券",
                    "每月限 4 张",
                    RewardKind::Voucher,
                    20,
                    1000,
                    None,
                    Some((4, jifen_core::CapPeriod::Month)),
                    "coop",
                ),
                (
                    "超市购物券 50 元",
                    "",
                    RewardKind::Voucher,
                    100,
                    200,
                    None,
                    None,
                    "coop",
                ),
                (
                    "公园年卡",
                    "莲花山公园",
                    RewardKind::Service,
                    150,
                    60,
                    Some("bronze"),
                    None,
                    "town",
                ),
                (
                    "家电清洗服务",
                    "",
                    RewardKind::Service,
                    60,
                    100,
                    None,
                    None,
                    "coop",
                ),
            ]
        };
        for (name, description, kind, price, stock, min_level, limit, sponsor) in shelf {
            let id = store.add_reward(
                region.clone(),
                Reward {
                    name: (*name).into(),
                    description: (*description).into(),
                    kind: *kind,
                    price: Points::new(*price),
                    stock: *stock,
                    min_level: min_level.map(str::to_owned),
                    limit: *limit,
                    sponsor: SponsorCode::parse(sponsor).expect("valid code"),
                    active_from: start,
                    active_to: None,
                    category: Some(
                        match kind {
                            RewardKind::Goods => "日用品",
                            RewardKind::Voucher => "购物券",
                            RewardKind::Service => "服务",
                        }
                        .to_owned(),
                    ),
                },
            )?;
            catalog.push((region.clone(), id));
        }
    }
    Ok(catalog)
}

/// One afternoon at the points supermarkets: yesterday's reservations are handed
/// over, cancelled or left to expire; overdue ones are refunded; residents reserve.
fn redeem_day(
    store: &Store,
    rng: &mut Rng,
    people: &[Person],
    catalog: &Catalog,
    open: &mut Vec<jifen_store::market::RedemptionView>,
) -> Result<()> {
    use jifen_store::market::Reserve;
    use jifen_store::{CancelRedemption, ConfirmRedemption};
    let mut confirms = Vec::new();
    let mut cancels = Vec::new();
    for d in open.drain(..) {
        match rng.below(100) {
            0..=84 => {
                let shop = if d.sponsor.as_str() == "town" {
                    TOWN_SHOP
                } else {
                    COOP_SHOP
                };
                confirms.push(ConfirmRedemption {
                    region: d.region,
                    code: d.code,
                    sponsor: d.sponsor,
                    by: op(shop),
                });
            }
            85..=89 => cancels.push(CancelRedemption {
                region: d.region,
                id: d.id,
                as_member: Some(d.member),
                by: op(SELF_SERVICE),
            }),
            _ => {} // never collected: it expires after the window
        }
    }
    // A code past its window is refused (409) and refunded below.
    let handed = run_all(store, confirms)?;
    for r in handed.into_iter().chain(run_all(store, cancels)?) {
        match r {
            Ok(_) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    store.expire_reservations()?;
    let mut reserves = Vec::new();
    for p in people {
        if !rng.chance(0.006 + 0.004 * f64::from(p.zeal)) {
            continue;
        }
        let shelf: Vec<u64> = catalog
            .iter()
            .filter(|(r, _)| *r == p.region)
            .map(|(_, id)| *id)
            .collect();
        let reward = *rng.pick(&shelf);
        let req = Reserve {
            region: p.region.clone(),
            reward,
            member: p.id,
            by: op(if p.elderly { STATION } else { SELF_SERVICE }),
        };
        reserves.push(req);
    }
    for r in run_all(store, reserves)? {
        match r {
            Ok(d) => open.push(d),
            // Not enough points, out of stock, a limit, a level, a spent budget: refused, nothing kept.
            Err(e) if e.is_refusal() => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
