"""The Kubernetes manifests (deploy/kubernetes/): valid, complete, rendered.

Schemas: the Kubernetes OpenAPI schemas as shipped by kubernetes-validate
(https://github.com/willthames/kubernetes-validate), pinned to the version in
render.KUBERNETES_VERSION. Rendering semantics: kustomize's kustomization
reference (https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/).
"""

from __future__ import annotations

import importlib.util
import io
import re
import sys
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import Client, override_settings

ROOT = Path(__file__).resolve().parent.parent
KUBE = ROOT / "deploy" / "kubernetes"
OVERLAY = KUBE / "overlays" / "example"

_spec = importlib.util.spec_from_file_location("rqs_kube_render", KUBE / "render.py")
assert _spec is not None and _spec.loader is not None
render = importlib.util.module_from_spec(_spec)
sys.modules["rqs_kube_render"] = render
_spec.loader.exec_module(render)

# Variables of .env.example that the cluster deliberately does not set.
NOT_IN_CLUSTER = {
    "BENCH_ENDPOINTS": "routes a benchmark endpoint; never set in production",
    "WEB_WORKERS": "the Dockerfile's default command; the web pods pass --workers",
    "WEB_THREADS": "the Dockerfile's default command; the web pods pass --threads",
}
SECRET = {
    "SECRET_KEY",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "CACHE_URL",
    "EMAIL_HOST_PASSWORD",
    "STORAGE_URL",
}
QUANTITY = re.compile(r"^(\d+(\.\d+)?)(m|Ki|Mi|Gi)?$")
UNITS = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, None: 1}


def _manifest_files() -> list[Path]:
    return sorted(p for p in KUBE.rglob("*.yaml") if p.name != "kustomization.yaml")


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    return render.render(OVERLAY)


def _one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if (o["kind"], o["metadata"]["name"]) == (kind, name)]
    assert len(found) == 1, (kind, name)
    return found[0]


def _pods(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        o["metadata"]["name"]: o["spec"]["template"]
        for o in objects
        if o["kind"] in {"Deployment", "Job"}
    }


def _quantity(value: str | int) -> float:
    match = QUANTITY.match(str(value))
    assert match, f"not a Kubernetes quantity: {value}"
    return float(match.group(1)) * UNITS[match.group(3)]


def _env_example() -> list[str]:
    names = []
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#") and "=" in line:
            names.append(line.split("=", 1)[0].strip())
    return names


@pytest.mark.parametrize(
    "path", _manifest_files(), ids=lambda p: str(p.relative_to(KUBE))
)
def test_every_manifest_file_is_one_complete_valid_object(path: Path) -> None:
    documents = render.load_documents(path)
    assert len(documents) == 1, "one manifest per file"
    obj = documents[0]
    assert obj["apiVersion"] and obj["kind"] and obj["metadata"]["name"]
    assert render.validation_errors(obj, str(path)) == []


def test_the_overlay_is_its_kustomization_alone() -> None:
    assert [p.name for p in OVERLAY.iterdir()] == ["kustomization.yaml"]


def test_the_overlay_renders_and_validates_from_the_command_line() -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        status = render.main(["--validate", str(OVERLAY)])
    assert status == 0
    kinds = {doc["kind"] for doc in yaml.safe_load_all(out.getvalue())}
    assert kinds >= {
        "ConfigMap",
        "Secret",
        "Deployment",
        "Service",
        "Ingress",
        "Job",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
    }


def test_validation_rejects_unknown_fields_and_unknown_kinds() -> None:
    typo = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}}
    typo["spec"] = {"selectr": {"a": "b"}}
    assert render.validation_errors(typo, "t")
    unknown = {"apiVersion": "v1", "kind": "Servic", "metadata": {"name": "x"}}
    assert render.validation_errors(unknown, "t")


def test_rendered_objects_carry_the_overlays_namespace_image_and_host(
    rendered: list[dict[str, Any]],
) -> None:
    overlay = yaml.safe_load((OVERLAY / "kustomization.yaml").read_text())
    namespace, image = overlay["namespace"], overlay["images"][0]
    assert {o["metadata"]["namespace"] for o in rendered} == {namespace}
    web = _one(rendered, "Deployment", "rqs-web")
    assert web["spec"]["template"]["spec"]["containers"][0]["image"] == (
        f"{image['newName']}:{image['newTag']}"
    )
    for name, pod in _pods(rendered).items():
        for container in pod["spec"]["containers"]:
            assert container["image"] == f"{image['newName']}:{image['newTag']}", name
    ingress = _one(rendered, "Ingress", "rqs")
    host = ingress["spec"]["rules"][0]["host"]
    assert ingress["spec"]["tls"][0]["hosts"] == [host]
    config = _one(rendered, "ConfigMap", "rqs-config")["data"]
    assert config["ALLOWED_HOSTS"].split(",") == [host]
    assert config["SITE_URL"] == config["CSRF_TRUSTED_ORIGINS"] == f"https://{host}"


def test_every_container_has_requests_limits_and_runs_locked_down(
    rendered: list[dict[str, Any]],
) -> None:
    pods = _pods(rendered)
    assert set(pods) == {
        "rqs-web",
        "rqs-worker-reports",
        "rqs-worker-celery",
        "rqs-scheduler",
        "rqs-migrate",
    }
    for name, pod in pods.items():
        spec = pod["spec"]
        assert spec["securityContext"]["runAsUser"] == 1000  # the Dockerfile's user
        assert spec["automountServiceAccountToken"] is False
        tmp = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        for container in spec["containers"] + spec.get("initContainers", []):
            resources = container["resources"]
            for what in ("cpu", "memory"):
                request = _quantity(resources["requests"][what])
                assert 0 < request <= _quantity(resources["limits"][what]), name
            security = container["securityContext"]
            assert security["runAsNonRoot"] is True, name
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            assert security["seccompProfile"]["type"] == "RuntimeDefault", name
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts.get("/tmp") in tmp, name


def test_readiness_asks_healthz_and_liveness_livez_with_an_allowed_host(
    rendered: list[dict[str, Any]],
) -> None:
    container = _one(rendered, "Deployment", "rqs-web")["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["ports"][0]["containerPort"] == 8000  # the Dockerfile's port
    assert container["command"][:2] == ["gunicorn", "rqs.wsgi:application"]
    assert "--threads" in container["command"]
    allowed = _one(rendered, "ConfigMap", "rqs-config")["data"]["ALLOWED_HOSTS"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        headers = {
            h["name"]: h["value"] for h in container[probe]["httpGet"]["httpHeaders"]
        }
        assert headers["Host"] in allowed.split(","), probe


@pytest.mark.django_db
def test_the_probes_as_the_kubelet_sends_them_get_200_from_the_app(
    rendered: list[dict[str, Any]], client: Client
) -> None:
    container = _one(rendered, "Deployment", "rqs-web")["spec"]["template"]["spec"][
        "containers"
    ][0]
    config = _one(rendered, "ConfigMap", "rqs-config")["data"]
    with override_settings(
        ALLOWED_HOSTS=config["ALLOWED_HOSTS"].split(","), SECURE_SSL_REDIRECT=True
    ):
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            get = container[probe]["httpGet"]
            headers = {h["name"]: h["value"] for h in get["httpHeaders"]}
            assert client.get(get["path"], headers=headers).status_code == 200, probe
        # Without the Host header the kubelet would send the pod's address.
        assert client.get("/livez", headers={"Host": "10.1.2.3"}).status_code == 400


def test_workers_consume_the_reports_and_celery_queues(
    rendered: list[dict[str, Any]],
) -> None:
    queues = {}
    for name, pod in _pods(rendered).items():
        command = pod["spec"]["containers"][0]["command"]
        if command[:4] == ["celery", "-A", "rqs", "worker"]:
            queues[command[command.index("-Q") + 1]] = (name, command)
    assert set(queues) == {"reports", "celery"}
    # The queues the app sends to are the ones the workers consume.
    config = _one(rendered, "ConfigMap", "rqs-config")["data"]
    assert {config["CELERY_QUEUE"], config["CELERY_REPORTS_QUEUE"]} == set(queues)
    reports = queues["reports"][1]
    assert reports[reports.index("--prefetch-multiplier") + 1] == "1"
    assert reports[reports.index("--concurrency") + 1] == "2"


def test_one_scheduler_and_autoscalers_for_web_and_both_workers(
    rendered: list[dict[str, Any]],
) -> None:
    scheduler = _one(rendered, "Deployment", "rqs-scheduler")
    assert scheduler["spec"]["replicas"] == 1
    assert scheduler["spec"]["strategy"]["type"] == "Recreate"
    command = scheduler["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[:4] == ["celery", "-A", "rqs", "beat"]
    scaled = {
        o["spec"]["scaleTargetRef"]["name"]: o["spec"]
        for o in rendered
        if o["kind"] == "HorizontalPodAutoscaler"
    }
    assert set(scaled) == {"rqs-web", "rqs-worker-reports", "rqs-worker-celery"}
    assert scaled["rqs-web"]["minReplicas"] >= 2
    for name in scaled:  # the autoscaler owns the count: no fixed replicas
        assert "replicas" not in _one(rendered, "Deployment", name)["spec"]
    job = _one(rendered, "Job", "rqs-migrate")["spec"]["template"]["spec"]
    script = job["containers"][0]["command"][-1]
    assert script == (
        "python manage.py migrate --noinput && python manage.py load_instruments"
    )


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    wanted = selector.get("matchLabels", {})
    if any(labels.get(k) != v for k, v in wanted.items()):
        return False
    for term in selector.get("matchExpressions", []):
        assert term["operator"] == "In"
        if labels.get(term["key"]) not in term["values"]:
            return False
    return True


def test_services_budgets_and_network_policies_select_the_right_pods(
    rendered: list[dict[str, Any]],
) -> None:
    labels = {n: p["metadata"]["labels"] for n, p in _pods(rendered).items()}

    def selected(selector: dict[str, Any]) -> set[str]:
        return {name for name, pod in labels.items() if _selects(selector, pod)}

    service = _one(rendered, "Service", "rqs-web")["spec"]
    assert selected({"matchLabels": service["selector"]}) == {"rqs-web"}
    for obj in rendered:
        if obj["kind"] == "PodDisruptionBudget":
            assert selected(obj["spec"]["selector"]) == {obj["metadata"]["name"]}
    policies = {
        o["metadata"]["name"]: o["spec"]
        for o in rendered
        if o["kind"] == "NetworkPolicy"
    }
    web, backend = policies["rqs-web"], policies["rqs-backend"]
    assert selected(web["podSelector"]) == {"rqs-web"}
    assert selected(backend["podSelector"]) == set(labels) - {"rqs-web"}
    assert backend["ingress"] == []  # workers take no connections
    assert [p["port"] for p in web["ingress"][0]["ports"]] == [8000]
    for policy in (web, backend):
        ports = {p["port"] for rule in policy["egress"] for p in rule["ports"]}
        assert ports >= {53, 5432, 6379, 443, 9000}


def test_every_documented_variable_is_in_the_configmap_or_the_secret(
    rendered: list[dict[str, Any]],
) -> None:
    config = _one(rendered, "ConfigMap", "rqs-config")["data"]
    secret = _one(rendered, "Secret", "rqs-secrets")["stringData"]
    missing = [
        name
        for name in _env_example()
        if name not in config and name not in secret and name not in NOT_IN_CLUSTER
    ]
    assert missing == []
    assert set(secret) >= SECRET
    assert not SECRET & set(config), "secrets never go in the ConfigMap"
    assert not set(NOT_IN_CLUSTER) & (set(config) | set(secret))


def test_the_secrets_storage_url_is_one_the_app_starts_with(
    rendered: list[dict[str, Any]],
) -> None:
    from rqs.storage import object_storages

    url = _one(rendered, "Secret", "rqs-secrets")["stringData"]["STORAGE_URL"]
    assert set(object_storages(url)) == {"default", "papers"}


def test_the_renderer_merges_containers_by_name_and_refuses_what_it_lacks(
    tmp_path: Path,
) -> None:
    base = tmp_path / "base"
    base.mkdir()
    (base / "kustomization.yaml").write_text("resources: [deployment.yaml]\n")
    (base / "deployment.yaml").write_text(
        (KUBE / "base" / "worker-celery-deployment.yaml").read_text()
    )
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    patch = """
resources: [../base]
patches:
  - patch: |-
      kind: Deployment
      metadata: {name: rqs-worker-celery}
      spec:
        template:
          spec:
            containers:
              - name: worker
                env: [{name: EXTRA, value: "1"}]
  - target: {kind: Deploy.*, name: rqs-worker-.*}
    patch: |-
      - {op: add, path: /spec/template/spec/volumes/-, value: {name: more}}
"""
    (overlay / "kustomization.yaml").write_text(patch)
    (deployment,) = render.render(overlay)
    spec = deployment["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert container["env"] == [{"name": "EXTRA", "value": "1"}]
    assert container["command"][:4] == ["celery", "-A", "rqs", "worker"]
    assert [v["name"] for v in spec["volumes"]] == ["tmp", "more"]
    (overlay / "kustomization.yaml").write_text(patch + "namePrefix: x-\n")
    with pytest.raises(render.RenderError, match="namePrefix"):
        render.render(overlay)


@pytest.mark.django_db
def test_livez_answers_without_the_database(client: Client) -> None:
    broken = OperationalError("the database is down")
    with mock.patch.object(BaseDatabaseWrapper, "cursor", side_effect=broken):
        assert client.get("/healthz").status_code == 503
        response = client.get("/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_livez_runs_no_query_and_answers_get_only(
    client: Client, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0):
        assert client.get("/livez").status_code == 200
    assert client.post("/livez").status_code == 405
