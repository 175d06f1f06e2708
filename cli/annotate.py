"""``recruitwatch annotate init|push|pull|agreement|issues``: the Label Studio annotation loop.

The server and token come from ``LABEL_STUDIO_URL`` and ``LABEL_STUDIO_API_KEY`` (or
``LABEL_STUDIO_API_KEY_FILE``), never from arguments: see the README, "Annotation loop".
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import List, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ._app import app, console, err_console, fail

annotate_app = typer.Typer(help="Label Studio annotation loop: set up, send posts, pull labels, check them.",
                           no_args_is_help=True)
app.add_typer(annotate_app, name="annotate")

DEFAULT_MIX = "uncertainty=0.4,disagreement=0.2,diverse=0.2,random=0.2"
DEFAULT_POLICY = Path(__file__).resolve().parents[1] / "policies" / "library" / "default.yaml"
ProjectOpt = typer.Option("recruitwatch", "--project", "-p", help="Label Studio project title.")


@contextmanager
def _errors():
    """Turn the loop's known failures into one clear line and exit code 1."""
    from label_studio_sdk.core.api_error import ApiError

    from annotation.connection import AnnotationError

    try:
        yield
    except (AnnotationError, FileNotFoundError, ValueError) as exc:
        raise fail(str(exc))
    except ApiError as exc:
        raise fail(f"Label Studio answered HTTP {exc.status_code}: {exc.body}")


def _progress(label: str) -> Progress:
    return Progress(TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err_console)


def _project(title: str, check: bool = True):
    from annotation.config import check_project_config
    from annotation.connection import connect, find_project

    client = connect()
    project = find_project(client, title)
    if check:
        check_project_config(project)
    return client, project


@annotate_app.command("init")
def init_command(
    project: str = ProjectOpt,
    update_config: bool = typer.Option(False, "--update-config", help="Replace an existing project's labelling config with the current taxonomy's."),
) -> None:
    """Create the project (or reuse it) with a labelling config generated from the taxonomy."""
    from annotation.config import check_project_config, config_problems, labelling_config
    from annotation.connection import ProjectMissing, connect, connection_from_env, find_project

    with _errors():
        conn = connection_from_env()
        client = connect(conn)
        try:
            existing = find_project(client, project)
        except ProjectMissing:
            existing = None
        if existing is None:
            created = client.projects.create(
                title=project, label_config=labelling_config(),
                description="Posts that may recruit young people into crime (recruitwatch).",
                show_collab_predictions=True)
            console.print(f"created project {project!r} (id {created.id}): {conn.url}/projects/{created.id}")
            return
        if config_problems(existing.label_config or "") and update_config:
            client.projects.update(existing.id, label_config=labelling_config())
            console.print(f"updated the labelling config of project {project!r} (id {existing.id})")
            return
        check_project_config(existing)
        console.print(f"project {project!r} (id {existing.id}) exists and matches the taxonomy: "
                      f"{conn.url}/projects/{existing.id}")


@annotate_app.command("push")
def push_command(
    input: Path = typer.Argument(..., help="Posts to choose from: a scan output or any JSONL/CSV file with id and text."),
    project: str = ProjectOpt,
    strategy: str = typer.Option(DEFAULT_MIX, "--strategy", "-s", help="uncertainty, disagreement, diverse, random, or a mix such as 'uncertainty=0.5,random=0.5'."),
    budget: int = typer.Option(200, "--budget", "-n", min=1, help="At most this many new tasks."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="Model folder (default: the shipped detector)."),
    policy: Optional[Path] = typer.Option(DEFAULT_POLICY, "--policy", help="Policy for the 'disagreement' strategy; --no-policy for none."),
    no_policy: bool = typer.Option(False, "--no-policy"),
    batch_size: int = typer.Option(100, min=1, help="Tasks per import request."),
    seed: int = typer.Option(13),
    id_field: str = typer.Option("id", help="Column holding the post id."),
    text_field: str = typer.Option("text", help="Column holding the post text."),
    report: Optional[Path] = typer.Option(None, "--report", "-r", help="Write every row's outcome (pushed/skipped/error) as JSON."),
) -> None:
    """Choose posts by strategy and import them with the model's pre-annotations; never duplicates."""
    from annotation.label_issues import embed_with_detector
    from annotation.push import push_posts
    from detector import Detector

    with _errors():
        client, proj = _project(project)
        det = Detector.load(model)
        engine = None
        if policy and not no_policy:
            from policies.engine import PolicyEngine
            from policies.loader import PolicyError, load_policy

            try:
                engine = PolicyEngine(load_policy(policy))
            except PolicyError as exc:
                raise fail(str(exc))
        with _progress("importing") as bar:
            task = bar.add_task("import", total=None)
            result = push_posts(client, proj, input, det, budget, strategy, engine=engine,
                                embed=embed_with_detector(det), seed=seed, batch_size=batch_size,
                                progress=lambda done, total: bar.update(task, completed=done, total=total),
                                id_field=id_field, text_field=text_field)
    if report:
        report.write_text(result.model_dump_json(indent=2), encoding="utf-8")
    console.print(f"{input}: {result.count('pushed')} pushed, {result.count('skipped')} skipped, "
                  f"{result.count('error')} errors (project {proj.title!r}, model {result.model_version})")
    for o in result.outcomes:
        if o.status == "error":
            err_console.print(f"  {o.reason}")
    if report:
        console.print(f"every row's outcome: {report}")


@annotate_app.command("pull")
def pull_command(
    project: str = ProjectOpt,
    output: Path = typer.Option(Path("runs/annotations"), "-o", "--output", help="Folder for versioned pulls (v0001, v0002, ...)."),
) -> None:
    """Export annotations with provenance, resolve several per task, write a versioned dataset."""
    from datasets import disable_progress_bars

    from annotation.pull import fetch, write_pull

    disable_progress_bars()  # our own bar says enough
    with _errors():
        client, proj = _project(project, check=False)
        with _progress("reading tasks") as bar:
            task = bar.add_task("pull", total=None)
            records, problems, n_tasks = fetch(client, proj, lambda d, t: bar.update(task, completed=d, total=t))
        result = write_pull(output, proj, records, problems, n_tasks)
    console.print(f"pulled {result.annotations} annotations on {result.tasks} tasks → {result.posts} labelled posts, "
                  f"{result.review} to review, {result.problems} problems")
    console.print(f"written to {result.folder}; train with: recruitwatch train --extra {result.folder}/dataset")
    for line in Path(result.folder, "problems.jsonl").read_text(encoding="utf-8").splitlines()[:20]:
        p = json.loads(line)
        err_console.print(f"  task {p['task_id']} annotation {p['annotation_id']}"
                          + (f" field '{p['field']}'" if p["field"] else "") + f": {p['message']}")


def _fmt(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


@annotate_app.command("agreement")
def agreement_command(
    folder: Optional[Path] = typer.Argument(None, help="A pulled version folder (default: read the project now)."),
    project: str = ProjectOpt,
    show: int = typer.Option(10, help="Disagreements to print."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write the full report as JSON."),
) -> None:
    """Cohen's and Fleiss' kappa and Krippendorff's alpha per field, and the posts annotators disagree on."""
    from annotation.agreement import agreement
    from annotation.pull import fetch, read_annotations

    with _errors():
        if folder:
            records = read_annotations(folder)
        else:
            client, proj = _project(project, check=False)
            records, _, _ = fetch(client, proj)
        report = agreement(records)
    if output:
        output.write_text(report.model_dump_json(indent=2), encoding="utf-8")
    if not report.tasks:
        console.print("no task has two or more annotations yet: nothing to compare")
        return
    t = Table(title=f"agreement on {report.tasks} tasks, {len(report.annotators)} annotators")
    t.add_column("field", no_wrap=True)
    for col in ("% agree", "Cohen κ (pairs)", "Fleiss κ", "Krippendorff α"):
        t.add_column(col)
    for f in report.fields:
        cohen = ", ".join(_fmt(p.kappa) for p in f.cohen)
        t.add_row(f.field, _fmt(f.percent_agreement), cohen, _fmt(f.fleiss), _fmt(f.krippendorff_alpha))
    console.print(t)
    console.print(f"{len(report.disagreements)} tasks with disagreements" + (":" if report.disagreements else ""))
    for d in report.disagreements[:show]:
        what = "; ".join(f"{field}: " + ", ".join(f"{a}={v}" for a, v in vals.items()) for field, vals in d.fields.items())
        console.print(f"  task {d.task_id} ({d.post_id}) {d.text[:60]!r} — {what}")


@annotate_app.command("issues")
def issues_command(
    folder: Path = typer.Argument(..., help="A pulled version folder (runs/annotations/v0001)."),
    project: str = ProjectOpt,
    with_corpus: bool = typer.Option(True, "--with-corpus/--no-corpus", help="Fit the out-of-fold models on the seed corpus too (issues are only reported for the pulled posts)."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="Model whose embeddings are used (default: shipped)."),
    push: bool = typer.Option(False, "--push", help="Send the issues back to Label Studio for review."),
    limit: int = typer.Option(50, help="Issues to print."),
    corpus_limit: Optional[int] = typer.Option(2000, help="Use at most this many corpus posts (a random sample, for speed; 0 = all)."),
    field: Optional[List[str]] = typer.Option(None, "--field", "-f", help="Check only these fields (label, youth_targeting, genre; repeatable)."),
    seed: int = typer.Option(13),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write all issues as JSON Lines."),
) -> None:
    """Likely label errors (cleanlab, out-of-fold probabilities); optionally sent back for review."""
    from annotation.label_issues import ISSUE_FIELDS, embed_with_detector, find_issues, send_for_review
    from annotation.pull import read_annotations
    from detector import Detector
    from training.data import DataError, read_corpus, read_labelled

    with _errors():
        unknown = sorted(set(field or []) - set(ISSUE_FIELDS))
        if unknown:
            raise ValueError(f"--field {', '.join(unknown)}: choose from {', '.join(ISSUE_FIELDS)}")
        data = Path(folder) / "dataset" / "data.jsonl"
        if not data.is_file():
            raise FileNotFoundError(f"{folder} is not a pulled annotation folder (no dataset/data.jsonl)")
        pulled, bad = read_labelled(data)
        if bad:
            raise fail(str(DataError(bad)))
        task_of = {r.post_id: r.task_id for r in read_annotations(folder)}
        posts = list(pulled)
        if with_corpus:
            ids = {p.id for p in pulled}
            extra = [r for r in read_corpus() if r.id not in ids]
            if corpus_limit and corpus_limit < len(extra):
                import random

                extra = random.Random(seed).sample(extra, corpus_limit)
            posts += extra
        det = Detector.load(model)
        console.print(f"embedding {len(posts)} posts with {det.version} ...")
        X = embed_with_detector(det)([p.text for p in posts])
        issues, notes = find_issues(posts, X, check={p.id for p in pulled}, fields=field or ISSUE_FIELDS, seed=seed)
        issues = [i.model_copy(update={"task_id": task_of.get(i.post_id.split("#task")[0])}) for i in issues]
        for n in notes:
            console.print(f"note: {n}")
        if output:
            output.write_text("".join(i.model_dump_json() + "\n" for i in issues), encoding="utf-8")
        console.print(f"{len(issues)} likely label errors among {len(pulled)} pulled posts")
        for i in issues[:limit]:
            console.print(f"  task {i.task_id} ({i.post_id}) {i.field}: given {i.given} (p={i.given_probability:.2f}), "
                          f"suggested {i.suggested} (p={i.suggested_probability:.2f}) — {i.text[:60]!r}")
        if push and issues:
            client, proj = _project(project, check=False)
            n = send_for_review(client, proj.id, issues)
            console.print(f"sent {n} tasks back for review: tab 'recruitwatch: label issues' in project {proj.title!r}")
