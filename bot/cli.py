"""Command line: unionbot index / search / eval (and ask, chat, serve)."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from bot.config import Settings
from bot.errors import BotError
from bot.types import Filters, Hit


def make_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with the flags that were given."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _assistant(settings: Settings):  # type: ignore[no-untyped-def]
    from bot.assistant import Assistant

    try:
        return Assistant.from_settings(settings)
    except BotError as e:
        raise click.ClickException(str(e)) from e


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log progress details.")
@click.version_option(package_name="unionbot")
def cli(verbose: bool) -> None:
    """工会问答助手 unionbot: answers about union work and labour law, with citations."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


@cli.command()
@click.option("--documents", "documents_dir", type=click.Path(path_type=Path), help="Folder of documents.")
@click.option("--index-dir", type=click.Path(path_type=Path), help="Where the index is written.")
@click.option("--rebuild", is_flag=True, help="Embed everything again.")
@click.option("--questions", is_flag=True,
              help="Let the configured LLM write lay questions for passages that have none (cached by content).")
@click.option("--reload", "reload_url", metavar="URL",
              help="Then make the service at URL (e.g. http://127.0.0.1:8000) switch to the new index "
                   "(needs UNIONBOT_ADMIN_TOKEN).")
def index(documents_dir: Path | None, index_dir: Path | None, rebuild: bool, questions: bool,
          reload_url: str | None) -> None:
    """Index the documents folder (only new or changed files are embedded again)."""
    from bot.index import build_index

    settings = make_settings(documents_dir=documents_dir, index_dir=index_dir)
    try:
        r = build_index(settings, rebuild=rebuild, progress=sys.stderr.isatty() or True,
                        generate=_question_writer(settings) if questions else None)
    except (BotError, FileNotFoundError) as e:
        raise click.ClickException(str(e)) from e
    for path, reason in r.errors:
        click.echo(f"跳过 {path}：{reason}", err=True)
    if r.up_to_date:
        click.echo(f"索引已是最新：{r.files} 个文件，{r.passages} 个段落，{r.questions} 个口语问题（{r.seconds:.1f} 秒）。")
    else:
        click.echo(
            f"完成：{r.files} 个文件，{r.passages} 个段落，{r.questions} 个口语问题；新嵌入 {r.embedded}，复用 {r.reused}；"
            f"变更 {len(r.changed_files)}，删除 {len(r.removed_files)}；跳过 {len(r.errors)} 个问题；"
            f"用时 {r.seconds:.1f} 秒。索引位置：{settings.index_dir}"
        )
    for name, label in (("windows", "句窗向量"), ("questions", "问题向量")):
        if name in r.vector_index:
            click.echo(f"{label}：{_vector_index_text(r.vector_index[name])}")

    if reload_url:
        _reload(reload_url, settings)


def _reload(url: str, settings: Settings) -> None:
    """Ask the running service at url to switch to the new index."""
    import httpx

    if settings.admin_token is None:
        raise click.ClickException("需要管理员令牌才能通知服务重新加载，请设置 UNIONBOT_ADMIN_TOKEN。")
    try:
        r = httpx.post(f"{url.rstrip('/')}/api/admin/reload", timeout=600,
                       headers={"Authorization": f"Bearer {settings.admin_token.get_secret_value()}"})
    except httpx.HTTPError as e:
        raise click.ClickException(f"无法连接服务 {url}：{type(e).__name__}。索引已建好，可稍后重试或重启服务。") from e
    if r.status_code != 200:
        message = r.json().get("message", r.text) if r.headers.get("content-type", "").startswith("application/json") else r.text
        raise click.ClickException(f"服务没有切换到新索引（{r.status_code}）：{message}")
    click.echo(f"服务 {url} 已切换到新索引（加载用时 {r.json()['seconds']} 秒）。")


def _vector_index_text(v: dict[str, Any]) -> str:
    """One line about a FAISS index of the build: exact, or HNSW with its parameters and measured recall."""
    if v["kind"] == "flat":
        return f"{v['vectors']} 条，精确检索（Flat）"
    return (f"{v['vectors']} 条，近似检索 HNSW（M={v['m']}，efConstruction={v['ef_construction']}，"
            f"efSearch={v['ef_search']}），recall@10 = {v['recall_at_10']:.3f}（对照精确检索，{v['recall_queries']} 个已存向量作查询）")


def _question_writer(settings: Settings):  # type: ignore[no-untyped-def]
    """The configured LLM's question writer for `index --questions`."""
    from bot.llm import LLM
    from bot.prompts import load_prompts

    if not settings.llm_enabled:
        raise click.ClickException("生成口语问题需要配置大模型：请设置 UNIONBOT_LLM_BASE_URL 和 UNIONBOT_LLM_MODEL。"
                                   " (--questions needs an LLM: set UNIONBOT_LLM_BASE_URL and UNIONBOT_LLM_MODEL.)")
    try:
        return LLM(settings, load_prompts(settings.prompts_dir)).questions
    except BotError as e:
        raise click.ClickException(str(e)) from e


def _render_hit(n: int, h: Hit) -> str:
    p = h.passage
    meta = " · ".join(x for x in (p.doc_type, p.region, p.date) if x)
    text = p.text if len(p.text) <= 160 else p.text[:160] + "…"
    return f"[{n}] {p.label}  ({meta}; score {h.score:.4f})\n    {text}"


@cli.command()
@click.argument("query")
@click.option("--k", "top_k", default=5, show_default=True, type=click.IntRange(1, 50))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--type", "doc_type", type=click.Choice(["law", "case", "news"]))
@click.option("--region")
@click.option("--org")
@click.option("--year-from", type=int)
@click.option("--year-to", type=int)
@click.option("--index-dir", type=click.Path(path_type=Path))
def search(query: str, top_k: int, as_json: bool, doc_type: str | None, region: str | None, org: str | None,
           year_from: int | None, year_to: int | None, index_dir: Path | None) -> None:
    """Show the passages retrieved for a query (no answer generation)."""
    assistant = _assistant(make_settings(index_dir=index_dir))
    try:
        hits = assistant.search(query, top_k, Filters(doc_type, region, org, year_from, year_to))
    except BotError as e:
        raise click.ClickException(str(e)) from e
    if as_json:
        rows = [{**h.passage.to_dict(), "label": h.passage.label, "score": h.score} for h in hits]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
    elif not hits:
        click.echo("没有找到相关内容。")
    else:
        click.echo("\n".join(_render_hit(i, h) for i, h in enumerate(hits, 1)))


@cli.command(name="eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
@click.option("--index-dir", type=click.Path(path_type=Path))
@click.option("--no-answers", is_flag=True, help="Retrieval figures only.")
@click.option("--baseline", "baseline_docs", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Also measure the plain baseline (750/150 chunks + vector search) over this folder.")
def eval_(file: Path, as_json: bool, index_dir: Path | None, no_answers: bool, baseline_docs: Path | None) -> None:
    """Compute the figures of ../shared/eval/README.md over the index."""
    from bot.evaluate import answer_figures, read_questions, retrieval_figures

    assistant = _assistant(make_settings(index_dir=index_dir))
    questions = read_questions(file)
    report: dict[str, Any] = {"questions": len(questions), "index": assistant.stats()}
    report["retrieval"] = retrieval_figures(questions, lambda q: [h.passage.text for h in assistant.search(q, 10)])
    if not no_answers:
        assistant.retriever.clear_cache()  # answer latency includes embedding the question, as in service
        report["answers"] = answer_figures(questions, assistant.ask)
    if baseline_docs:
        from bot.baseline import baseline_search

        search_fn, n_chunks = baseline_search(baseline_docs, assistant.embedder)
        report["baseline"] = {"chunks": n_chunks, **retrieval_figures(questions, search_fn)}
    click.echo(json.dumps(report, ensure_ascii=False, indent=1) if as_json else _render_report(report))


def _render_report(report: dict[str, Any]) -> str:
    lines = [f"questions: {report['questions']}  index: {report['index']['passages']} passages"]
    for name in ("retrieval", "baseline"):
        r = report.get(name)
        if not r:
            continue
        lines.append(f"{name}: {_rank_line(r)}  search p50 {r['search_ms_p50']} ms  p95 {r['search_ms_p95']} ms")
        for group in ("by_kind", "halves"):
            for key, f in r.get(group, {}).items():
                lines.append(f"  {key:8} {_rank_line(f)}")
        if r.get("misses"):
            lines.append(f"  not in top 5: {', '.join(r['misses'])}")
    a = report.get("answers")
    if a:
        lines.append(f"answers: {_answer_line(a)}  answer p50 {a['answer_ms_p50']} ms  p95 {a['answer_ms_p95']} ms")
        for group in ("by_kind", "halves"):
            for key, f in a.get(group, {}).items():
                lines.append(f"  {key:8} {_answer_line(f)}")
        if a.get("wrong_refusals"):
            lines.append(f"  wrong refusal decisions: {', '.join(a['wrong_refusals'])}")
        if a.get("no_answer_evidence"):
            lines.append(f"  answer without evidence: {', '.join(a['no_answer_evidence'])}")
    return "\n".join(lines)


def _rank_line(f: dict[str, Any]) -> str:
    if not f.get("n"):
        return "n=  0"
    return f"n={f['n']:3}  hit@1 {f['hit@1']:.3f}  hit@5 {f['hit@5']:.3f}  hit@10 {f['hit@10']:.3f}  mrr@10 {f['mrr@10']:.3f}"


def _answer_line(f: dict[str, Any]) -> str:
    names = ("refusal_acc", "false_refusal", "answer_has_evidence", "citation_has_evidence")
    return "  ".join(f"{n} {f[n]:.3f}" for n in names if f.get(n) is not None)


@cli.command()
@click.option("--index-dir", type=click.Path(path_type=Path), help="Index to serve.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
def serve(index_dir: Path | None, host: str, port: int) -> None:
    """Start the HTTP service (chat, search, kiosk, WeChat); the index loads once, /healthz is 503 until then."""
    import uvicorn

    from bot.api.app import create_app

    settings = make_settings(index_dir=index_dir)
    if not settings.index_dir.is_dir():
        raise click.ClickException(f"找不到索引 {settings.index_dir}，请先运行 unionbot index。(No index; run 'unionbot index'.)")
    _store(settings).close()  # the store opens and migrates now: a wrong database URL is one clear message
    logging.getLogger("bot").setLevel(logging.INFO)
    # proxy_headers=False: the client address is the socket peer unless settings.trusted_proxies says otherwise.
    uvicorn.run(create_app(settings), host=host, port=port, access_log=False, log_level="info", proxy_headers=False)


def _render_answer(a: Any) -> str:
    """Answer text, next steps and numbered sources for the terminal."""
    lines = [a.text]
    if a.next_steps:
        lines += ["", a.next_steps]
    if a.citations:
        lines += ["", "出处："] + [f"[{c.n}] {c.passage.label}（{c.passage.source_file}）" for c in a.citations]
    return "\n".join(lines)


def _answer_json(a: Any) -> dict[str, Any]:
    cites = [{"n": c.n, "label": c.passage.label, "passage_id": c.passage.id, "doc_type": c.passage.doc_type,
              "title": c.passage.title, "article": c.passage.article, "org": c.passage.org, "date": c.passage.date,
              "source_file": c.passage.source_file, "text": c.passage.text} for c in a.citations]
    return {"text": a.text, "refused": a.refused, "reason": a.reason, "next_steps": a.next_steps, "mode": a.mode,
            "question": a.question, "session_id": a.session_id, "message_id": a.message_id, "citations": cites}


@cli.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--short", is_flag=True, help="Kiosk-length answer (about 80 characters).")
@click.option("--session", "session_id", help="Continue a conversation (id printed by --json).")
@click.option("--index-dir", type=click.Path(path_type=Path))
def ask(question: str, as_json: bool, short: bool, session_id: str | None, index_dir: Path | None) -> None:
    """Answer one question from the knowledge base, with numbered sources (or a kind refusal)."""
    assistant = _assistant(make_settings(index_dir=index_dir))
    try:
        a = assistant.ask(question, session_id=session_id, short=short, channel="cli")
    except BotError as e:
        raise click.ClickException(str(e)) from e
    finally:
        assistant.close()
    click.echo(json.dumps(_answer_json(a), ensure_ascii=False, indent=1) if as_json else _render_answer(a))


@cli.command()
@click.option("--index-dir", type=click.Path(path_type=Path))
def chat(index_dir: Path | None) -> None:
    """Interactive conversation; follow-up questions build on earlier ones. Empty line or Ctrl-D ends it."""
    assistant = _assistant(make_settings(index_dir=index_dir))
    session_id: str | None = None
    click.echo("工会问答助手：请输入您的问题（直接回车或 Ctrl-D 退出）。")
    try:
        while True:
            question = click.prompt("问", default="", show_default=False, prompt_suffix="：").strip()
            if not question:
                break
            try:
                a = assistant.ask(question, session_id=session_id, channel="cli")
            except BotError as e:
                click.echo(f"错误：{e}", err=True)
                continue
            session_id = a.session_id
            click.echo(_render_answer(a) + "\n")
    except (EOFError, click.Abort):
        pass
    finally:
        assistant.close()


def _store(settings: Settings, migrate_schema: bool = True):  # type: ignore[no-untyped-def]
    from bot.store import Store, open_store

    try:
        if migrate_schema:
            return open_store(settings)
        return Store(settings.store_url, migrate_schema=False)
    except BotError as e:
        raise click.ClickException(str(e)) from e


@cli.group()
def db() -> None:
    """The conversation store (SQLite beside the index, or UNIONBOT_DATABASE_URL)."""


@db.command()
def upgrade() -> None:
    """Create or upgrade the store's schema (also done when the service starts)."""
    from bot.store import migrate

    store = _store(make_settings())
    try:
        click.echo(f"对话数据库已是最新结构（{store.dialect}，版本 {migrate.current(store.engine)}）。")
    finally:
        store.close()


@db.command()
def purge() -> None:
    """Delete conversations idle for longer than UNIONBOT_RETENTION_DAYS (also done while serving)."""
    settings = make_settings()
    store = _store(settings)
    try:
        n = store.purge()
    finally:
        store.close()
    click.echo(f"已删除 {n} 个超过 {settings.retention_days:g} 天的会话。" if settings.retention_days
               else "未设置保存期限（UNIONBOT_RETENTION_DAYS=0），没有删除任何会话。")


@cli.group()
def person() -> None:
    """Personal data of one person (PIPL): export or delete by session id or WeChat openid."""


_person_options = [
    click.option("--session", "session_id", help="A session id (shown in the chat page and API answers)."),
    click.option("--openid", help="A WeChat openid (stored only as a keyed hash; give the real one)."),
]


def _with_person_options(f: Any) -> Any:
    for option in reversed(_person_options):
        f = option(f)
    return f


@person.command(name="export")
@_with_person_options
def person_export(session_id: str | None, openid: str | None) -> None:
    """Print everything stored about the person as JSON."""
    store = _store(make_settings())
    try:
        data = store.person(session_id=session_id, openid=openid).as_dict()
    except BotError as e:
        raise click.ClickException(str(e)) from e
    finally:
        store.close()
    click.echo(json.dumps(data, ensure_ascii=False, indent=1))


@person.command(name="delete")
@_with_person_options
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def person_delete(session_id: str | None, openid: str | None, yes: bool) -> None:
    """Delete everything stored about the person."""
    if not yes:
        click.confirm("删除此人的全部会话记录，无法恢复。继续吗？", abort=True)
    store = _store(make_settings())
    try:
        n = store.forget(session_id=session_id, openid=openid)
    except BotError as e:
        raise click.ClickException(str(e)) from e
    finally:
        store.close()
    click.echo(f"已删除 {n['sessions']} 个会话、{n['wechat_messages']} 条微信消息。")


@cli.group()
def user() -> None:
    """Accounts of the officers' console (/console)."""


@user.command(name="add")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "officer"]), default="officer", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (one line).")
def user_add(name: str, role: str, password_stdin: bool) -> None:
    """Create a console account; the password is asked for (or read from stdin)."""
    from bot.console.auth import hash_password
    from bot.store.console import ConsoleError

    if password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("密码 (password)", hide_input=True, confirmation_prompt="再输入一次 (again)")
    try:
        password_hash = hash_password(password)
    except ValueError as e:
        raise click.ClickException(str(e)) from e
    store = _store(make_settings())
    try:
        account = store.console.add_account(name.strip(), password_hash, role)
        store.console.audit("cli", "account_add", account.name, {"role": role})
    except ConsoleError as e:
        raise click.ClickException(str(e)) from e
    finally:
        store.close()
    click.echo(f"已创建账号 {account.name}（{'管理员' if role == 'admin' else '工会干部'}），请在 /console 登录。")
