"""The bulk-copy benchmark's driver (see scripts/bench-copy): every contender copies the
same rows, each measured by wall time and the peak RSS of its processes (wait4's ru_maxrss
for children, VmHWM for the Pipewright server), all in one run."""

import argparse
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

PG = "postgres://postgres@127.0.0.1:5432"


def psql(db, sql, *extra):
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres", "-d", db, *extra, "-c", sql], check=True, stdout=subprocess.DEVNULL)


def scalar(db, sql):
    out = subprocess.run(["psql", "-X", "-At", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-c", sql], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def timed(cmds):
    """Runs the commands as one pipeline; (seconds, peak RSS in MB of the largest process)."""
    started = time.monotonic()
    procs = []
    prev = None
    for i, cmd in enumerate(cmds):
        p = subprocess.Popen(cmd, stdin=prev.stdout if prev else subprocess.DEVNULL,
                             stdout=subprocess.PIPE if i < len(cmds) - 1 else subprocess.DEVNULL,
                             env=cmd_env)
        if prev:
            prev.stdout.close()
        procs.append(p)
        prev = p
    peak = 0
    for p in procs:
        _, status, usage = os.wait4(p.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"{cmds} failed")
        peak = max(peak, usage.ru_maxrss / 1024)
    return time.monotonic() - started, peak


class Mcp:
    def __init__(self, url, token):
        self.url, self.token, self.session, self.n = url, token, None, 0
        init = self.rpc("initialize", {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench-copy", "version": "1"}})
        assert "result" in init, init
        self.rpc("notifications/initialized", None, notify=True)

    def rpc(self, method, params, notify=False):
        self.n += 1
        body = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            body["params"] = params
        if not notify:
            body["id"] = self.n
        req = urllib.request.Request(self.url, data=json.dumps(body).encode(), method="POST", headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18",
            **({"Mcp-Session-Id": self.session} if self.session else {})})
        with urllib.request.urlopen(req, timeout=600) as r:
            self.session = r.headers.get("Mcp-Session-Id") or self.session
            text = r.read().decode()
        if notify or not text.strip():
            return None
        if text.lstrip().startswith("{"):
            return json.loads(text)
        for line in text.splitlines():
            if line.startswith("data:") and line[5:].strip():
                msg = json.loads(line[5:])
                if msg.get("id") == self.n:
                    return msg
        raise RuntimeError(text)

    def call(self, tool, args):
        r = self.rpc("tools/call", {"name": tool, "arguments": args})["result"]
        if r.get("isError"):
            raise RuntimeError(f"{tool}: {r['content'][0]['text']}")
        return r.get("structuredContent") or json.loads(r["content"][0]["text"])


def pipewright_run(mcp, components, edges, pid):
    p = mcp.call("create_package", {"name": f"bench {time.monotonic()}", "flow_type": "dataflow", "components": components, "edges": edges})
    started = time.monotonic()
    run = mcp.call("run_package", {"package_id": p["package_id"]})
    while True:
        r = mcp.call("get_run", {"run_id": run["run_id"], "log_tail_lines": 5})
        if r["status"] in ("completed", "failed", "cancelled"):
            break
        time.sleep(0.05)
    took = time.monotonic() - started
    if r["status"] != "completed":
        sys.exit(f"pipewright run failed: {json.dumps(r)[:2000]}")
    with open(f"/proc/{pid}/status") as f:
        hwm = int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1)) / 1024
    return took, hwm


def main():
    global cmd_env
    a = argparse.ArgumentParser()
    a.add_argument("--rows", type=int, required=True)
    a.add_argument("--sling", required=True)
    a.add_argument("--pipewright", required=True)
    a.add_argument("--work", required=True)
    args = a.parse_args()
    n = args.rows
    cmd_env = dict(os.environ)
    src, dst = "pw_bench_src", "pw_bench_dst"
    for db in (src, dst):
        psql("postgres", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        psql("postgres", f"CREATE DATABASE {db}")
    print(f"generating {n:,} rows of mixed types …", file=sys.stderr)
    psql(src, f"""CREATE TABLE src AS SELECT g::bigint AS id, (g % 1000)::int AS small, md5(g::text) AS label,
        (g * 0.01)::numeric(14,2) AS amount, TIMESTAMP '2020-01-01' + g * INTERVAL '1 second' AS at,
        (g % 2 = 0) AS flag, (g * 1.5)::float8 AS ratio, CURRENT_DATE - (g % 3650)::int AS day
        FROM generate_series(1, {n}) g""")
    psql(src, "VACUUM ANALYZE src")
    size_mb = int(scalar(src, "SELECT pg_total_relation_size('src')")) / 2**20
    results = []

    # 1. The COPY pipe.
    ddl = "(id bigint, small int, label text, amount numeric(14,2), at timestamp, flag boolean, ratio float8, day date)"
    psql(dst, f"CREATE TABLE copy_psql {ddl}")
    base = ["psql", "-X", "-q", "-h", "127.0.0.1", "-U", "postgres"]
    t, rss = timed([base + ["-d", src, "-c", "\\copy src TO STDOUT"], base + ["-d", dst, "-c", "\\copy copy_psql FROM STDIN"]])
    assert int(scalar(dst, "SELECT count(*) FROM copy_psql")) == n
    results.append(("psql \\copy | psql \\copy", t, rss))
    print(f"measured {results[-1]}", file=sys.stderr)

    # 2. Pipewright: a real run through the MCP endpoint of a fresh server.
    data = os.path.join(args.work, "pw-data")
    env = dict(os.environ, PIPEWRIGHT_WORKER_CONCURRENCY="1")
    def cli(*c):
        return subprocess.run([args.pipewright, *c, "--data-dir", data], check=True, capture_output=True, text=True, env=env).stdout.strip()
    cli("account", "create", "--subdomain", "bench", "--owner", "bench@example.com")
    token = cli("token", "create", "--account", "bench", "--name", "bench")
    s_id = int(cli("connection", "add", "--account", "bench", "--name", "src", "--type", "postgres", "--set", "host=127.0.0.1", "--set", f"database={src}", "--set", "user=postgres", "--set", "tls_mode=disable"))
    d_id = int(cli("connection", "add", "--account", "bench", "--name", "dst", "--type", "postgres", "--set", "host=127.0.0.1", "--set", f"database={dst}", "--set", "user=postgres", "--set", "tls_mode=disable"))
    # The server's log goes to a file: a pipe nobody reads would fill and stall it.
    log_path = os.path.join(args.work, "server.log")
    server = subprocess.Popen([args.pipewright, "serve", "--bind", "127.0.0.1:0", "--data-dir", data], env=env, stderr=open(log_path, "w"), stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    url = None
    while url is None:
        m = re.search(r"listening on (http://\S+)", open(log_path).read())
        if m:
            url = m.group(1) + "/bench/api/mcp"
        elif time.monotonic() > deadline or server.poll() is not None:
            sys.exit(f"the server did not start: {open(log_path).read()[-2000:]}")
        else:
            time.sleep(0.1)
    mcp = Mcp(url, token)
    comps = [{"postgres_source_component": {"id": "s", "name": "src", "connection_id": s_id, "table": "src"}},
             {"postgres_destination_component": {"id": "d", "name": "dst", "connection_id": d_id, "table": "copy_pw", "operation": "overwrite"}}]
    t, rss = pipewright_run(mcp, comps, [{"source": "s", "target": "d"}], server.pid)
    assert int(scalar(dst, "SELECT count(*) FROM copy_pw")) == n
    results.append(("pipewright (PG → PG)", t, rss))
    print(f"measured {results[-1]}", file=sys.stderr)

    # 3. sling, from PyPI.
    cmd_env = dict(os.environ, SRC_PG=f"{PG}/{src}?sslmode=disable", DST_PG=f"{PG}/{dst}?sslmode=disable", SLING_DISABLE_TELEMETRY="true")
    t, rss = timed([[args.sling, "run", "--src-conn", "SRC_PG", "--src-stream", "public.src", "--tgt-conn", "DST_PG", "--tgt-object", "public.copy_sling", "--mode", "full-refresh"]])
    assert int(scalar(dst, "SELECT count(*) FROM copy_sling")) == n
    results.append(("sling 1.4.11 (PG → PG)", t, rss))
    print(f"measured {results[-1]}", file=sys.stderr)
    cmd_env = dict(os.environ)

    # 4. CSV on S3 → PostgreSQL, and DuckDB reading the same file.
    csv = os.path.join(args.work, "src.csv")
    psql(src, f"\\copy src TO '{csv}' WITH (FORMAT csv, HEADER true)")
    import boto3
    s3 = boto3.client("s3", endpoint_url=os.environ["PIPEWRIGHT_TEST_S3_ENDPOINT"], region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    s3.upload_file(csv, os.environ["PIPEWRIGHT_TEST_BUCKET"], "bench/src.csv")
    env["PW_BENCH_KEY"] = "testing"
    lake = int(subprocess.run([args.pipewright, "connection", "add", "--account", "bench", "--name", "lake", "--type", "s3", "--set", f"bucket={os.environ['PIPEWRIGHT_TEST_BUCKET']}", "--set", f"endpoint={os.environ['PIPEWRIGHT_TEST_S3_ENDPOINT']}", "--secret-env", "access_key_id=PW_BENCH_KEY", "--secret-env", "secret_access_key=PW_BENCH_KEY", "--data-dir", data], check=True, capture_output=True, text=True, env=env).stdout.strip())
    mcp = Mcp(url, token)  # a new session: the first one idled out while sling ran
    comps = [{"cloud_storage_source_component": {"id": "s", "name": "csv", "connection_id": lake, "path": "bench/src.csv"}},
             {"postgres_destination_component": {"id": "d", "name": "dst", "connection_id": d_id, "table": "csv_pw", "operation": "overwrite"}}]
    t_csv, rss_csv = pipewright_run(mcp, comps, [{"source": "s", "target": "d"}], server.pid)
    assert int(scalar(dst, "SELECT count(*) FROM csv_pw")) == n
    server.terminate()
    server.wait()
    import duckdb
    started = time.monotonic()
    got = duckdb.sql(f"SELECT count(*) FROM read_csv('{csv}')").fetchall()[0][0]
    t_duck = time.monotonic() - started
    assert got == n

    pipe = results[0][1]
    print(f"\n{n:,} rows ({size_mb:.0f} MB in PostgreSQL), PostgreSQL 127.0.0.1 → PostgreSQL 127.0.0.1, one run:")
    print(f"{'contender':34} {'seconds':>8} {'rows/s':>12} {'vs COPY pipe':>13} {'peak RSS MB':>12}")
    for name, t, rss in results:
        print(f"{name:34} {t:8.1f} {n / t:12,.0f} {pipe / t:12.2f}× {rss:12.0f}")
    pw = results[1][1]
    print(f"pipewright vs sling: {results[2][1] / pw:.2f}× faster")
    print(f"\nCSV ({os.path.getsize(csv) / 2**20:.0f} MB) on S3 (moto) → PostgreSQL:")
    print(f"{'pipewright (S3 CSV → PG)':34} {t_csv:8.1f} {n / t_csv:12,.0f} {'':>13} {rss_csv:12.0f}")
    print(f"{'duckdb 2.0 read_csv (local, count)':34} {t_duck:8.1f} {n / t_duck:12,.0f}")
    for db in (src, dst):
        psql("postgres", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


if __name__ == "__main__":
    main()
