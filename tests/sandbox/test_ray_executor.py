"""Code execution on Ray (sandbox/ray_executor.py) on a local Ray cluster of 2 CPUs: the same results as the local
pool, program for program, and a lost Ray worker is an error for its program, never a verdict. One Ray start and
one set of actors for the whole module (about 20 s here)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox_testing import hostile, tagged_processes

from mabench.sandbox import Program, Sandbox, SandboxConfig, Status, open_sandbox, run_many
from mabench.sandbox.ray_executor import MAX_BATCH, RaySandbox, batch_size

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'mabench[ray]'")
pytestmark = pytest.mark.timeout(120)

BATCH = 3  # several programs per Ray call, so that a lost call has innocent programs in it

# One of each outcome the sandbox reports, each with its verdict decided by the program alone.
MIX = [
    Program("def add(a, b):\n    return a + b", "assert add(2, 3) == 5"),
    Program("def add(a, b):\n    return a - b", "assert add(2, 3) == 5"),
    Program("def add(a, b) return a + b", "assert add(2, 3) == 5"),
    Program("print('hello')\nprint('err', file=__import__('sys').stderr)", "assert True"),
    Program("while True:\n    pass", "", timeout_s=1),
    Program("import ctypes\nctypes.string_at(0)", "assert True"),
    Program("import os\nos._exit(0)", "assert False"),
    Program("x = bytearray(512 * 1024 * 1024)", "assert True", memory_mb=128),
    Program("import time\ntime.sleep(0.2)\nprint(sum(range(10)))", "assert True"),
]
# What a result says about its program; duration_s is the only field that may differ between two runs.
FIELDS = ("status", "stdout", "stderr", "exit_code", "signal", "stdout_truncated", "stderr_truncated", "detail")


def facts(results: list) -> list[tuple]:
    return [tuple(getattr(r, name) for name in FIELDS) for r in results]


@pytest.fixture(scope="module")
def cluster() -> Iterator[RaySandbox]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        # One actor: the other CPU stays free for the actors that open_sandbox starts below.
        with RaySandbox(SandboxConfig(executor="ray"), actors=1, batch=BATCH) as sandbox:
            yield sandbox
    finally:
        ray.shutdown()


def test_the_same_results_as_the_local_pool(cluster):
    programs = MIX * 2  # 18 programs: 6 Ray calls, two in flight at a time
    with Sandbox(2) as local:
        expected = local.run_many(programs, progress=False)
    got = cluster.run_many(programs, progress=False)
    assert facts(got) == facts(expected)
    assert {r.status for r in got} >= {Status.PASSED, Status.FAILED, Status.TIMEOUT, Status.CRASHED,
                                       Status.EXITED_EARLY, Status.MEMORY}
    assert cluster.isolation.backend == Sandbox(1).isolation.backend  # what the manifest records


def ancestors(pid: int) -> list[int]:
    chain = []
    while pid > 1:
        status = Path(f"/proc/{pid}/status").read_text()
        pid = int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))
        chain.append(pid)
    return chain


def kill_ray_workers_running(token: str, stop: threading.Event, killed: list[int]) -> None:
    """Stands in for a lost node: SIGKILL the Ray worker (actor) process above each process named ``token``."""
    while not stop.wait(0.02):
        for pid in tagged_processes(token):
            with contextlib.suppress(OSError, StopIteration):  # the process went away meanwhile
                for above in ancestors(pid):
                    if Path(f"/proc/{above}/cmdline").read_bytes().startswith(b"ray::") and above not in killed:
                        os.kill(above, signal.SIGKILL)
                        killed.append(above)
                        break


def test_a_lost_ray_worker_is_an_error_for_its_program_never_a_verdict(cluster, token):
    # The victim would pass if its worker survived; the others share its Ray call and must keep their verdicts.
    victim = Program(hostile(token, "import time\ntime.sleep(3)"), "assert True", timeout_s=10)
    programs = [MIX[0], victim, MIX[1], MIX[0], MIX[1]]
    before = cluster.actor_pids()
    stop, killed = threading.Event(), []
    watcher = threading.Thread(target=kill_ray_workers_running, args=(token, stop, killed))
    watcher.start()
    try:
        got = cluster.run_many(programs, progress=False)
    finally:
        stop.set()
        watcher.join()
    assert len(killed) == 2, killed  # in its batch, then alone on a fresh actor
    assert got[1].status is Status.SANDBOX_ERROR and "Ray worker" in got[1].detail, got[1]
    assert [r.status for i, r in enumerate(got) if i != 1] == [Status.PASSED, Status.FAILED] * 2
    assert set(cluster.actor_pids()).isdisjoint(killed) and cluster.actor_pids() != before
    assert cluster.run("print(6 * 7)", "assert True", timeout_s=10).stdout == "42\n"  # replaced, working


ATTACK = """
import os, signal
for pid in [os.getppid(), 1, -1, *(int(p) for p in os.listdir('/proc') if p.isdigit())]:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
"""


def test_a_program_that_kills_every_process_it_can_reach_does_not_reach_its_ray_worker(cluster):
    before = cluster.actor_pids()
    programs = [Program(ATTACK, "assert True", timeout_s=5), MIX[0], Program(ATTACK, "assert False", timeout_s=5)]
    with Sandbox(1) as local:
        expected = local.run_many(programs, progress=False)
    got = cluster.run_many(programs, progress=False)
    assert facts(got) == facts(expected)
    assert got[2].status is not Status.PASSED
    assert cluster.actor_pids() == before  # no Ray worker was lost


def test_open_sandbox_and_run_many_choose_ray_by_the_executor_setting(cluster):
    config = SandboxConfig(executor="ray")
    with open_sandbox(2, config) as opened:  # joins the running Ray instance (connect is idempotent)
        assert isinstance(opened, RaySandbox)
        assert [r.status for r in opened.run_many(MIX[:2], progress=False)] == [Status.PASSED, Status.FAILED]
    assert [r.status for r in run_many(MIX[:2], config=config, progress=False)] == [Status.PASSED, Status.FAILED]
    assert isinstance(open_sandbox(1, SandboxConfig()), Sandbox)


def test_callers_in_several_threads_share_the_actors_and_each_gets_its_own_results(cluster):
    # The runner judges a batch's records in parallel threads on one RaySandbox.
    def programs(caller: int) -> list[Program]:
        return [Program(f"print({caller * 100 + i})", "assert True" if i % 2 else "assert False") for i in range(5)]

    got: dict[int, list] = {}
    threads = [threading.Thread(target=lambda c=c: got.__setitem__(c, cluster.run_many(programs(c), progress=False)))
               for c in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for caller in range(4):
        assert [(r.stdout, r.status) for r in got[caller]] == [
            (f"{caller * 100 + i}\n", Status.PASSED if i % 2 else Status.FAILED) for i in range(5)]


def test_batches_bound_the_ray_calls_and_balance_the_actors():
    assert batch_size(1, 8) == 1
    assert batch_size(64, 2) == 8  # BATCHES_PER_ACTOR calls per actor
    assert batch_size(100_000, 2) == MAX_BATCH


def replay(tmp_path: Path, questions: int) -> Path:
    """A replay source answering the first HumanEval problems in bok mode, k = 3: right, wrong, exits early."""
    from mabench.tasks.humaneval import HumanEval

    lines = []
    for question in list(HumanEval().load(None))[:questions]:
        body = question.inputs["reference"]
        answers = [body, "    return None\n", "    import os\n    os._exit(0)\n"]
        lines.append(json.dumps({"task": "humaneval", "question_id": question.id, "mode": "bok", "k": 3,
                                 "generations": [f"<code>{a}</code><confidence>0.5</confidence>" for a in answers]}))
    path = tmp_path / "generations.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_coding_run_on_ray_gives_the_local_run_its_records_and_run_id(cluster, tmp_path):
    from typer.testing import CliRunner

    from mabench.cli import app

    source, runs = replay(tmp_path, 4), {}
    for executor in ("local", "ray"):
        out = tmp_path / executor
        result = CliRunner().invoke(app, ["run", "--model", f"replay:{source}", "--tasks", "humaneval", "--mode",
                                          "bok", "--k", "3", "--limit", "4", "--out", str(out),
                                          "--sandbox-executor", executor])
        assert result.exit_code == 0, result.output
        (run_dir,) = out.iterdir()
        manifest = json.loads((run_dir / "manifest.json").read_text())
        records = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
        runs[executor] = (run_dir.name, manifest["sandbox"], [
            (r["question_id"], r["error"], [j["correct"] for j in r["judgements"]],
             [e["status"] for e in r["evidence"]["executions"]]) for r in records])
    assert runs["ray"][0] == runs["local"][0]  # the executor is not part of the run id
    assert runs["ray"][2] == runs["local"][2]
    assert [r[2] for r in runs["ray"][2]] == [[True, False, False]] * 4
    assert runs["ray"][1]["executor"] == "ray" and runs["ray"][1]["ray_nodes"]
    assert runs["ray"][1]["backend"] == runs["local"][1]["backend"]


def test_code_rewards_on_ray_score_as_locally_and_a_lost_worker_gives_no_reward(cluster, token):
    # `mabench train` with `sandbox_executor: ray`: the reward call site judges through the same RaySandbox. A lost
    # Ray worker must leave the completion out of the update (None), never score it as a wrong answer (0.0).
    from mabench.tasks import load_task
    from mabench.train.methods import method_spec
    from mabench.train.reward_funcs import RewardComponent, Scorer
    from mabench.train.trainer import _reward_sandbox

    task = load_task("humaneval")
    (question,) = [q for q in task.load() if q.id == "HumanEval/0"]
    body = question.inputs["reference"]
    completions = [f"<code>{body}</code>", "<code>    return None\n</code>"]
    rewards = {}
    for executor in ("local", "ray"):
        with _reward_sandbox(task, executor):
            assert type(task.runner.sandbox).__name__ == ("RaySandbox" if executor == "ray" else "Sandbox")
            component = RewardComponent("accuracy", Scorer(task, method_spec("rlvr"), 1))
            rewards[executor] = component(prompts=["p", "p"], completions=completions,
                                          question=[question.model_dump_json()] * 2)
    assert rewards["ray"] == rewards["local"] == [1.0, 0.0]

    from tests.tasks.test_code_tasks import SOLUTION  # HumanEval/0 as a whole function

    victim = hostile(token, "import time\ntime.sleep(3)\n") + SOLUTION
    stop, killed = threading.Event(), []
    watcher = threading.Thread(target=kill_ray_workers_running, args=(token, stop, killed))
    with _reward_sandbox(task, "ray"):
        watcher.start()
        try:
            lost = RewardComponent("accuracy", Scorer(task, method_spec("rlvr"), 1))(
                prompts=["p"], completions=[f"<code>{victim}</code>"], question=[question.model_dump_json()])
        finally:
            stop.set()
            watcher.join()
    assert killed and lost == [None]
