//! Several quire nodes sharing one PostgreSQL database behind nginx (issue 15), built from the
//! files in `deploy/`: the shared scenario suite through the balancer, a save on one node
//! searchable on the others, the database restarting under the nodes, and the load-and-kill run
//! with one node killed and started again.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use e2e::postgres::TempPostgres;
use e2e::{chown, free_port, web_user};
use http::StatusCode;

use crate::servers::Combination;
use crate::suite::{Browser, Gateway};
use crate::torture::{self, Front, Load, Server};

/// How the nodes speak to nginx.
#[derive(Debug, Clone, Copy)]
enum Protocol {
    /// `quire serve` nodes behind `deploy/nginx/quire-cluster-proxy.conf`.
    Http,
    /// `quire fastcgi` nodes behind `deploy/nginx/quire-cluster-fastcgi.conf`.
    FastCgi,
}

/// Three nodes, each with a data directory of its own (settings, search index), one database.
struct Cluster {
    /// Node 1's data directory, nginx in front, the mail sink.
    combination: Combination,
    nodes: Vec<Server>,
    /// Last: dropped after the nodes that use it.
    postgres: TempPostgres,
}

const MOUNT: &str = "/wiki";

impl Cluster {
    fn start(name: &'static str, protocol: Protocol, settings: &str) -> Cluster {
        let postgres = TempPostgres::start();
        let mut combination = Combination::new_on(name, MOUNT, Some(&postgres.url()));
        let first = combination.data();
        let config = first.join("quire.toml");
        let mut toml = std::fs::read_to_string(&config).unwrap();
        toml.push_str(settings);
        std::fs::write(&config, &toml).unwrap();
        let mut nodes = Vec::new();
        for n in 1..=3 {
            let data = if n == 1 {
                first.clone()
            } else {
                let data = combination.shared_dir(&format!("node{n}"));
                std::fs::write(data.join("quire.toml"), &toml).unwrap();
                chown(&data.join("quire.toml"), web_user());
                data
            };
            let listens = SocketAddr::from(([127, 0, 0, 1], free_port()));
            let address = listens.to_string();
            let args: Vec<String> = match protocol {
                Protocol::Http => vec!["serve", "--listen", &address, "--mount", MOUNT],
                Protocol::FastCgi => vec!["fastcgi", "--listen", &address],
            }
            .into_iter()
            .map(str::to_owned)
            .collect();
            let log = combination.path(&format!("node{n}.log"));
            combination.add_log(
                ["node 1's log", "node 2's log", "node 3's log"][n - 1],
                log.clone(),
            );
            let node = Server::new(args, listens, data, log);
            node.start();
            nodes.push(node);
        }
        let site = match protocol {
            Protocol::Http => "nginx/quire-cluster-proxy.conf",
            Protocol::FastCgi => "nginx/quire-cluster-fastcgi.conf",
        };
        let addresses: Vec<String> = nodes
            .iter()
            .map(|node| node.listens().to_string())
            .collect();
        combination.nginx(
            site,
            &[
                ("NODE1", &addresses[0]),
                ("NODE2", &addresses[1]),
                ("NODE3", &addresses[2]),
            ],
        );
        Cluster {
            combination,
            nodes,
            postgres,
        }
    }

    /// Node `n` (0-based) reached directly, not through the balancer (`quire serve` nodes only).
    fn node(&self, n: usize) -> Direct {
        Direct(self.nodes[n].listens())
    }
}

/// A `quire serve` node, reached directly.
struct Direct(SocketAddr);

impl Gateway for Direct {
    fn mount(&self) -> &str {
        MOUNT
    }

    fn send(&self, request: gateway::testing::TestRequest) -> gateway::testing::TestResponse {
        crate::suite::http1_send(self.0, MOUNT, &request)
    }
}

#[test]
fn three_fastcgi_nodes_behind_nginx_pass_the_scenario_suite() {
    let cluster = Cluster::start(
        "nginx round robin over 3 quire fastcgi nodes on PostgreSQL",
        Protocol::FastCgi,
        "",
    );
    cluster.combination.run_scenarios();
}

/// A save through one node is found by another node's search: its indexer hears the save
/// (LISTEN/NOTIFY) or finds it in its next look at the revision log, a second later at most.
#[test]
fn a_save_on_one_node_is_searchable_on_the_others() {
    let cluster = Cluster::start("3 quire serve nodes on PostgreSQL", Protocol::Http, "");
    let (first, second, third) = (cluster.node(0), cluster.node(1), cluster.node(2));
    // Each node's index has caught up with the seeded pages before the clock starts.
    for node in [&second, &third] {
        crate::suite::eventually(node, "/+search?q=FrontPage", |body| {
            body.contains("FrontPage")
        });
    }
    let saved = Browser::new(&first).save_page("Elsewhere", "zanzibarquokka lives here", None);
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    let started = Instant::now();
    for node in [&second, &third] {
        crate::suite::eventually(node, "/+search?q=zanzibarquokka", |body| {
            body.contains("/Elsewhere\"")
        });
    }
    eprintln!(
        "a save on node 1 was searchable on nodes 2 and 3 after {} ms",
        started.elapsed().as_millis()
    );
}

/// PostgreSQL stopping under running nodes: saves are answered 503 with Retry-After and the text
/// kept, nothing hangs past the connect timeout, and once the server is back the same nodes read
/// and save again without being restarted.
#[test]
fn the_database_going_away_gives_503_and_the_nodes_recover_by_themselves() {
    let mut cluster = Cluster::start("3 quire serve nodes on PostgreSQL", Protocol::Http, "");
    let node = cluster.node(0);
    let browser = Browser::new(&node);
    let saved = browser.save_page("Weather", "sunny", None);
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    // One anonymous editor and one logged in: each has the editor open when the database goes.
    let member = Browser::new(&node);
    let registered = crate::scenarios::register(&member, "Member", "the member's password");
    assert!(registered.status.is_redirection(), "{}", registered.text());
    let editors = [&browser, &member].map(|who| {
        let editor = who.get("/+edit/Weather");
        crate::suite::csrf_token_in(&editor.text()).expect("the editor's form token")
    });
    cluster.postgres.restart(|| {
        let asked = Instant::now();
        for (who, token) in [&browser, &member].into_iter().zip(&editors) {
            let answer = who.send(gateway::testing::TestRequest::post_form(
                "/+edit/Weather",
                &[
                    ("text", "stormy, and this text is kept"),
                    ("comment", "while the database is down"),
                    ("base_rev", "1"),
                    ("action", "save"),
                    ("csrf_token", token),
                ],
            ));
            assert_eq!(
                answer.status,
                StatusCode::SERVICE_UNAVAILABLE,
                "{}",
                answer.text()
            );
            assert!(answer.headers.contains_key(http::header::RETRY_AFTER));
            assert!(
                answer.text().contains("stormy, and this text is kept"),
                "the editor gave the text back: {}",
                answer.text()
            );
        }
        let read = node.get("/Weather");
        assert_eq!(
            read.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            read.text()
        );
        assert!(read.headers.contains_key(http::header::RETRY_AFTER));
        assert!(
            asked.elapsed() < Duration::from_secs(30),
            "answers took {:?} while the database was down",
            asked.elapsed()
        );
    });
    // Back: the same node reads and saves without a restart.
    let read = node.get("/Weather");
    assert_eq!(read.status, StatusCode::OK, "{}", read.text());
    let saved = Browser::new(&node).save_page("Weather", "stormy", Some(1));
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
}

/// The load-and-kill run of issue 15: 24 editors make 40 saves each through the balancer, on 8
/// shared pages and their own, while node 2 is killed with SIGKILL and started again; then every
/// acknowledged save is in history exactly once, `quire check` finds nothing wrong, and each node's
/// own search finds every marker.
#[test]
fn three_nodes_lose_no_acknowledged_save_while_one_is_killed() {
    let settings = "\n[spam]\nanonymous_saves_per_hour = 0\n";
    let Cluster {
        combination,
        mut nodes,
        postgres,
    } = Cluster::start(
        "3 quire serve nodes on PostgreSQL, node 2 killed",
        Protocol::Http,
        settings,
    );
    let readers: Vec<Direct> = nodes.iter().map(|node| Direct(node.listens())).collect();
    let victim = nodes.remove(1);
    let front = Front::behind(combination.addr(), victim, MOUNT);
    let load = Load {
        editors: 24,
        saves: 40,
        kills: 2,
        shared_pages: 8,
    };
    let outcome = torture::load_and_kill(&front, &load);
    let readers: Vec<&dyn Gateway> = readers.iter().map(|node| node as &dyn Gateway).collect();
    let count = |sql: &str| -> i64 { postgres.sql("quire", sql).trim().parse().unwrap() };
    torture::verify(&outcome, nodes[0].data(), &readers, count);
    drop(front);
    drop(nodes);
    drop(combination);
    outcome.report("3 nodes on PostgreSQL, node 2 killed twice", &load);
}

/// Page views and saves per second through nginx of one `quire serve` node on SQLite, one on
/// PostgreSQL, and three on PostgreSQL, on this machine: the table in `BENCHMARKS.md` ("Several
/// nodes on PostgreSQL"). Views are `wrk` on a 10 KB page, 16 connections and then one at a time
/// (its mean is a view's cost without waiting for a core); saves are 8 clients, then 1, each
/// saving a page of its own 25 times through the editor (its GET, then the POST). Asserts nothing
/// about speed.
///
/// ```sh
/// cargo test -p e2e --release -- --ignored bench_nodes --nocapture --test-threads=1
/// ```
#[test]
#[ignore = "a benchmark: cargo test -p e2e --release -- --ignored bench_nodes --nocapture --test-threads=1"]
fn bench_nodes() {
    use crate::bench::{run_wrk, BenchPage, LOAD, ONE_AT_A_TIME, PAGE};
    use crate::servers::Ready;
    e2e::ensure_tool("wrk", "wrk");
    let page = BenchPage::new();
    let settings = "\n[spam]\nanonymous_saves_per_hour = 0\n";
    let mut rows = Vec::new();
    let mut measure = |setup: &str, run: &Combination| {
        page.seed(run);
        let url = format!("http://{}{MOUNT}/{PAGE}", run.addr());
        let views = run_wrk(&url, LOAD, String::new);
        let alone = run_wrk(&url, ONE_AT_A_TIME, String::new);
        let saves = save_rate(run, "Together", 8, 25);
        let save_alone_ms = 1000.0 / save_rate(run, "Alone", 1, 25);
        rows.push(format!(
            "| {setup} | {:.0} | {:.2} | {:.2} | {:.3} | {saves:.0} | {save_alone_ms:.2} |",
            views.requests_per_s, views.mean_ms, views.p99_ms, alone.mean_ms
        ));
    };
    let single = |name: &'static str, database: Option<&str>| {
        let mut run = Combination::new_on(name, MOUNT, database);
        let config = run.data().join("quire.toml");
        let mut toml = std::fs::read_to_string(&config).unwrap();
        toml.push_str(settings);
        std::fs::write(&config, toml).unwrap();
        let http = format!("127.0.0.1:{}", free_port());
        run.quire(
            &["serve", "--listen", &http, "--mount", MOUNT],
            Ready::Tcp(&http),
        );
        run.nginx("nginx/quire-proxy.conf", &[("QUIRE", &http)]);
        run
    };
    {
        let run = single("1 node on SQLite", None);
        measure("1 `quire serve` node, SQLite", &run);
    }
    {
        let postgres = TempPostgres::start();
        let run = single("1 node on PostgreSQL", Some(&postgres.url()));
        measure("1 `quire serve` node, PostgreSQL", &run);
        drop(run);
    }
    {
        let cluster = Cluster::start("3 nodes on PostgreSQL", Protocol::Http, settings);
        measure("3 `quire serve` nodes, PostgreSQL", &cluster.combination);
    }
    println!(
        "\n| setup (nginx in front, round robin) | views/s (16 conns) | mean ms | p99 ms | one view alone, ms | saves/s (8 clients) | one save alone, ms |\n|---|---|---|---|---|---|---|"
    );
    for row in rows {
        println!("{row}");
    }
}

/// Saves per second: `clients` threads, each saving a page of its own (named `pages` and its
/// number) `saves` times through the
/// editor, as a browser does (the editor's GET, then the form's POST).
fn save_rate(run: &Combination, pages: &str, clients: usize, saves: usize) -> f64 {
    let front = Direct(run.addr());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for client in 0..clients {
            let front = &front;
            scope.spawn(move || {
                let browser = Browser::new(front);
                for n in 0..saves {
                    let base = (n > 0).then_some(n as u64);
                    let text = format!("Save {n} of client {client}.\n");
                    let saved = browser.save_page(&format!("{pages}{client}"), &text, base);
                    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
                }
            });
        }
    });
    (clients * saves) as f64 / started.elapsed().as_secs_f64()
}
