import json
from pathlib import Path

from click.testing import CliRunner

from bot.cli import cli
from bot.config import Settings


def _env(settings: Settings) -> dict[str, str]:
    return {"UNIONBOT_EMBEDDER": "fake", "UNIONBOT_STATE_DB": str(settings.state_path)}


def test_index_search_and_eval_from_the_command_line(settings: Settings, tmp_path: Path):
    runner = CliRunner()
    args = ["--documents", str(settings.documents_dir), "--index-dir", str(settings.index_dir)]
    r = runner.invoke(cli, ["index", *args], env=_env(settings))
    assert r.exit_code == 0, r.output
    assert "3 个文件" in r.output
    r = runner.invoke(cli, ["index", *args], env=_env(settings))
    assert "索引已是最新" in r.output

    r = runner.invoke(cli, ["search", "年假有几天", "--index-dir", str(settings.index_dir), "--json", "--k", "2"],
                      env=_env(settings))
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert rows[0]["label"] == "《职工权益保障示范条例》第四条" and len(rows) == 2

    r = runner.invoke(cli, ["search", "工会", "--type", "case", "--region", "扬州", "--index-dir", str(settings.index_dir)],
                      env=_env(settings))
    assert r.exit_code == 0 and "扬州工会驿站" in r.output and "示范条例" not in r.output

    qs = tmp_path / "q.jsonl"
    qs.write_text(
        json.dumps({"id": "1", "question": "年休假几天", "evidence": ["享受带薪年休假五天"], "kind": "law"}, ensure_ascii=False)
        + "\n", encoding="utf-8")
    r = runner.invoke(cli, ["eval", str(qs), "--index-dir", str(settings.index_dir), "--no-answers", "--json"],
                      env=_env(settings))
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["retrieval"]["hit@1"] == 1.0


def test_bad_queries_and_missing_index_get_clear_messages(settings: Settings, tiny_index: Path, tmp_path: Path):
    runner = CliRunner()
    for query, expected in [("   ", "问题不能为空"), ("工" * 10_000, "问题太长了")]:
        r = runner.invoke(cli, ["search", query, "--index-dir", str(settings.index_dir)], env=_env(settings))
        assert r.exit_code == 1 and expected in r.output and "Traceback" not in r.output
    r = runner.invoke(cli, ["search", "工会", "--index-dir", str(tmp_path / "missing")], env=_env(settings))
    assert r.exit_code == 1 and "unionbot index" in r.output
    r = runner.invoke(cli, ["index", "--documents", str(tmp_path / "nothing"), "--index-dir", str(tmp_path / "i")],
                      env=_env(settings))
    assert r.exit_code == 1 and "文档目录不存在" in r.output
    # the index that was there is untouched by the failed run
    r = runner.invoke(cli, ["search", "工会", "--index-dir", str(settings.index_dir)], env=_env(settings))
    assert r.exit_code == 0


def test_default_embedder_end_to_end(tiny_docs: Path, tmp_path: Path):
    """The real pipeline with the offline e5-small-q4 embedder: index, then a lay question finds the article."""
    runner = CliRunner()
    env = {"UNIONBOT_STATE_DB": str(tmp_path / "s.sqlite3")}
    r = runner.invoke(cli, ["index", "--documents", str(tiny_docs), "--index-dir", str(tmp_path / "idx")], env=env)
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["search", "下班路上出车祸算工伤吗", "--index-dir", str(tmp_path / "idx"), "--json", "--k", "1"],
                      env=env)
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)[0]["label"] == "《职工权益保障示范条例》第六条"


def test_db_upgrade_and_one_persons_data_from_the_command_line(settings: Settings, tiny_index: Path):
    runner = CliRunner()
    env = {**_env(settings), "UNIONBOT_INDEX_DIR": str(settings.index_dir)}
    r = runner.invoke(cli, ["db", "upgrade"], env=env)
    assert r.exit_code == 0 and "版本 0002" in r.output, r.output
    r = runner.invoke(cli, ["ask", "扬州工会驿站有多少家？", "--json"], env=env)
    assert r.exit_code == 0, r.output
    sid = json.loads(r.output)["session_id"]

    r = runner.invoke(cli, ["person", "export", "--session", sid], env=env)
    assert r.exit_code == 0, r.output
    [session] = json.loads(r.output)["sessions"]
    assert session["channel"] == "cli" and session["turns"][0]["question"] == "扬州工会驿站有多少家？"

    r = runner.invoke(cli, ["person", "delete", "--session", sid], env=env, input="n\n")
    assert r.exit_code != 0  # not confirmed: nothing deleted
    r = runner.invoke(cli, ["person", "delete", "--session", sid, "--yes"], env=env)
    assert r.exit_code == 0 and "已删除 1 个会话" in r.output, r.output
    assert json.loads(runner.invoke(cli, ["person", "export", "--session", sid], env=env).output)["sessions"] == []
    r = runner.invoke(cli, ["person", "export"], env=env)
    assert r.exit_code != 0 and "会话编号" in r.output

    r = runner.invoke(cli, ["db", "purge"], env={**env, "UNIONBOT_RETENTION_DAYS": "0"})
    assert r.exit_code == 0 and "没有删除" in r.output


def test_an_unreachable_database_gets_a_clear_message(settings: Settings, tiny_index: Path):
    env = {**_env(settings), "UNIONBOT_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    r = CliRunner().invoke(cli, ["db", "upgrade"], env=env)
    assert r.exit_code != 0 and "无法打开对话数据库" in r.output and "UNIONBOT_DATABASE_URL" in r.output
