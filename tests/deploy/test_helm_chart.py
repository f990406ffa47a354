"""The Helm chart, proved offline: lint and render every scenario, validate every object
strictly, Pod Security Standards restricted, checkov, and the generated files."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry, Gauge, generate_latest

from journey_platform import metrics
from tests.deploy.helm import (
    CHART,
    HELM_DIR,
    KUBERNETES_VERSIONS,
    ROOT,
    SCENARIOS,
    Tools,
    checkov_environment,
    objects,
    pod_specs,
    render,
    run,
    tools,
    values_file,
)


@pytest.fixture(scope="session")
def chart_tools(pytestconfig: pytest.Config) -> Tools:
    found = tools()
    times = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in found.seconds.items())
    line = f"chart tools (built or installed once per user, else cached): {times}"
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    capture = pytestconfig.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(line)
    else:
        print(line, file=sys.stderr)
    return found


@pytest.fixture(scope="session")
def rendered(chart_tools: Tools) -> dict[str, str]:
    return {scenario: render(chart_tools.helm, values_file(scenario)) for scenario in SCENARIOS}


def test_there_are_the_three_scenarios() -> None:
    assert set(SCENARIOS) >= {"default", "minimal", "monitoring-topics"}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_helm_lint(chart_tools: Tools, scenario: str) -> None:
    result = run([chart_tools.helm, "lint", CHART, "--strict", "--values", values_file(scenario)])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "typo",
    [
        {"kafka": {"bootstrapServer": "kafka:9092"}},  # a nested key misspelt
        {"refferal": {"replicaCount": 3}},  # a top-level key misspelt
        {"processor": {"persistence": {"sise": "1Gi"}}},  # deep
    ],
)
def test_a_misspelt_value_fails_lint(chart_tools: Tools, tmp_path: Path, typo: Any) -> None:
    values = tmp_path / "typo-values.yaml"
    values.write_text(yaml.safe_dump(typo))
    result = run(
        [chart_tools.helm, "lint", CHART, "--values", values_file("default"), "--values", values]
    )
    assert result.returncode != 0
    assert "additional properties" in (result.stdout + result.stderr)


def test_every_object_of_the_values_schema_is_closed() -> None:
    """additionalProperties is false at every object level; the exceptions are maps of
    strings (labels, annotations) and Kubernetes objects passed through (affinity,
    tolerations, env vars, NetworkPolicy peers), which say so in their description."""
    schema = json.loads((CHART / "values.schema.json").read_text())

    def walk(node: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
        if isinstance(node, dict):
            if node.get("type") == "object":
                yield path, node
            for key, child in node.items():
                yield from walk(child, f"{path}/{key}")
        elif isinstance(node, list):
            for index, child in enumerate(node):
                yield from walk(child, f"{path}/{index}")

    open_objects = []
    for path, node in walk(schema, ""):
        closed = node.get("additionalProperties")
        if closed is False:
            continue
        if closed == {"type": "string"}:
            continue  # a map of strings
        if closed is True and (
            "passed through" in node.get("description", "") or path == "/properties/global"
        ):
            continue
        open_objects.append(path)
    assert not open_objects


def test_values_yaml_and_the_schema_declare_the_same_keys() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in node:
            return resolve(schema["$defs"][node["$ref"].rsplit("/", 1)[-1]])
        return node

    def compare(node: dict[str, Any], values: Any, path: str) -> Iterator[str]:
        node = resolve(node)
        if node.get("additionalProperties") is not False or not isinstance(values, dict):
            return
        declared = set(node["properties"]) - {"global"}
        # Resource lists may name ephemeral-storage too; values.yaml gives cpu and memory.
        optional = node is schema["$defs"]["resourceList"]
        for key in (set(values) - declared) | (set() if optional else declared - set(values)):
            yield f"{path}.{key}"
        for key in declared & set(values):
            yield from compare(node["properties"][key], values[key], f"{path}.{key}")

    assert not list(compare(schema, defaults, ""))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_rendered_object_validates_strictly(
    chart_tools: Tools, rendered: dict[str, str], scenario: str, tmp_path: Path
) -> None:
    manifest = tmp_path / f"{scenario}.yaml"
    manifest.write_text(rendered[scenario])
    for version in KUBERNETES_VERSIONS:
        results = _validate(chart_tools, manifest, version)
        assert len(results) == len(objects(rendered[scenario]))
        bad = [r for r in results if r["result"] != "valid"]
        assert not bad, f"Kubernetes {version}: {bad}"


def test_strict_validation_rejects_an_unknown_field(
    chart_tools: Tools, rendered: dict[str, str], tmp_path: Path
) -> None:
    """The validator's negative control: one misspelt field in a pod, one in a CRD."""
    found = objects(rendered["monitoring-topics"])
    deployment = next(o for o in found if o["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    monitor = next(o for o in found if o["kind"] == "ServiceMonitor")
    monitor["spec"]["endpoints"][0]["intervall"] = "30s"
    topic = next(o for o in found if o["kind"] == "KafkaTopic")
    topic["spec"]["partition"] = 6
    manifest = tmp_path / "broken.yaml"
    manifest.write_text(yaml.safe_dump_all([deployment, monitor, topic]))
    results = _validate(chart_tools, manifest, KUBERNETES_VERSIONS[-1])
    assert [r["result"] for r in results] == ["invalid"] * 3, results


def _validate(chart_tools: Tools, manifest: Path, version: str) -> list[dict[str, Any]]:
    result = run(
        [
            chart_tools.validator_python,
            HELM_DIR / "validate.py",
            "--kubernetes-version",
            version,
            manifest,
        ]
    )
    assert result.returncode in (0, 1), result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


# -- Pod Security Standards, restricted (https://kubernetes.io/docs/concepts/security/pod-security-standards/)

_RESTRICTED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


def restricted_violations(spec: dict[str, Any]) -> list[str]:
    """What in a pod spec the restricted profile forbids (and this chart's own rules:
    a read-only root filesystem, no service account token)."""
    found = []
    pod = spec.get("securityContext", {})
    for host in ("hostNetwork", "hostPID", "hostIPC", "hostUsers"):
        if spec.get(host) and host != "hostUsers":
            found.append(f"{host} is set")
    if pod.get("sysctls"):
        found.append("sysctls are set")
    for volume in spec.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= _RESTRICTED_VOLUMES:
            found.append(f"volume {volume['name']} is {kinds}")
    if spec.get("automountServiceAccountToken") is not False:
        found.append("the service account token is mounted")
    containers = spec.get("initContainers", []) + spec["containers"]
    for container in containers:
        name = container["name"]
        own = container.get("securityContext", {})

        def setting(key: str, own: dict[str, Any] = own) -> Any:
            return own.get(key, pod.get(key))

        if own.get("privileged"):
            found.append(f"{name}: privileged")
        if own.get("allowPrivilegeEscalation") is not False:
            found.append(f"{name}: allowPrivilegeEscalation is not false")
        if setting("runAsNonRoot") is not True:
            found.append(f"{name}: runAsNonRoot is not true")
        if setting("runAsUser") == 0:
            found.append(f"{name}: runs as UID 0")
        seccomp = (setting("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            found.append(f"{name}: seccompProfile is {seccomp}")
        capabilities = own.get("capabilities", {})
        if "ALL" not in capabilities.get("drop", []):
            found.append(f"{name}: capabilities not dropped (ALL)")
        if set(capabilities.get("add", [])) - {"NET_BIND_SERVICE"}:
            found.append(f"{name}: adds capabilities {capabilities['add']}")
        if own.get("procMount", "Default") != "Default":
            found.append(f"{name}: procMount")
        if any(port.get("hostPort") for port in container.get("ports", [])):
            found.append(f"{name}: hostPort")
        if own.get("readOnlyRootFilesystem") is not True:
            found.append(f"{name}: root filesystem writable")
        mounts = {mount["mountPath"] for mount in container.get("volumeMounts", [])}
        if "/tmp" not in mounts:
            found.append(f"{name}: no writable /tmp")
    return found


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_pod_meets_pod_security_restricted(rendered: dict[str, str], scenario: str) -> None:
    specs = dict(pod_specs(objects(rendered[scenario])))
    assert len(specs) >= 6  # three APIs, processor, sink, analytics (and the Job)
    violations = {where: v for where, spec in specs.items() if (v := restricted_violations(spec))}
    assert not violations


def test_the_restricted_check_catches_what_it_looks_for() -> None:
    bad = {
        "hostNetwork": True,
        "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
        "containers": [{"name": "c", "securityContext": {"privileged": True, "runAsUser": 0}}],
    }
    violations = " ".join(restricted_violations(bad))
    for expected in ("hostNetwork", "hostPath", "privileged", "runAsNonRoot", "UID 0"):
        assert expected in violations
    for expected in ("seccompProfile", "capabilities", "allowPrivilegeEscalation", "/tmp"):
        assert expected in violations


# -- what the chart renders


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_secrets_only_by_reference(rendered: dict[str, str], scenario: str) -> None:
    found = objects(rendered[scenario])
    assert not [o for o in found if o["kind"] in ("Secret", "ConfigMap")]
    secret_names = re.compile(r"KEY|PASSWORD|DATABASE_URL|JWKS$|USERNAME")
    for where, spec in pod_specs(found):
        for container in spec["containers"]:
            for env in container.get("env", []):
                if secret_names.search(env["name"]) and not env["name"].endswith("_FILE"):
                    assert "secretKeyRef" in env.get("valueFrom", {}), (where, env["name"])


def test_each_process_gets_only_its_secrets(rendered: dict[str, str]) -> None:
    env = {
        where.split("/", 1)[1].removeprefix("journeys-victim-journey-"): {
            e["name"] for c in spec["containers"] for e in c.get("env", [])
        }
        for where, spec in pod_specs(objects(rendered["default"]))
    }
    for api in ("referral", "support", "prosecution", "flags"):
        assert "PSEUDONYM_KEY" in env[api]
    assert "IDENTITY_MASTER_KEY" in env["referral"]
    for key, holder in (
        ("IDENTITY_MASTER_KEY", "referral"),
        ("NOTES_MASTER_KEY", "flags"),
        ("WEBHOOK_MASTER_KEY", "flags"),
    ):
        assert {name for name, names in env.items() if key in names} == {holder}
    assert {n for n, names in env.items() if "PSEUDONYM_KEY" in names} == {
        "referral",
        "support",
        "prosecution",
        "flags",
    }


def test_each_process_is_its_own_kafka_principal(rendered: dict[str, str]) -> None:
    """With SASL, each process reads its own user name and password (ACLs per service)."""
    keys = {
        where.split("/", 1)[1].removeprefix("journeys-victim-journey-"): {
            e["name"]: e["valueFrom"]["secretKeyRef"]["key"]
            for c in spec["containers"]
            for e in c.get("env", [])
            if e["name"] in ("KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD")
        }
        for where, spec in pod_specs(objects(rendered["monitoring-topics"]))
    }
    for process, principal in (
        ("referral", "referral"),
        ("flags", "flags"),
        ("journey-processor", "journey-processor"),
        ("analytics-sink", "analytics"),
        ("migrations", "admin"),
    ):
        assert keys[process] == {
            "KAFKA_SASL_USERNAME": f"{principal}-username",
            "KAFKA_SASL_PASSWORD": f"{principal}-password",
        }, process


def test_the_http_services_listen_on_every_address(rendered: dict[str, str]) -> None:
    for where, spec in pod_specs(objects(rendered["default"])):
        env = {e["name"]: e.get("value") for c in spec["containers"] for e in c.get("env", [])}
        if "Job" in where:
            continue
        assert env["METRICS_HOST"] == "0.0.0.0", where
        if "HTTP_PORT" in env:
            assert env["HTTP_HOST"] == "0.0.0.0", where
            probes = spec["containers"][0]
            assert probes["livenessProbe"]["httpGet"]["path"] == "/livez"
            assert probes["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_the_processor_is_a_statefulset_with_a_store_and_an_instance_id(
    rendered: dict[str, str],
) -> None:
    found = objects(rendered["default"])
    (processor,) = [o for o in found if o["kind"] == "StatefulSet"]
    (claim,) = processor["spec"]["volumeClaimTemplates"]
    container = processor["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["PROCESSOR_INSTANCE_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert env["PROCESSOR_DATA_DIR"]["value"] == "/data"
    assert {"name": claim["metadata"]["name"], "mountPath": "/data"} in container["volumeMounts"]
    services = {o["metadata"]["name"]: o for o in found if o["kind"] == "Service"}
    assert services[processor["spec"]["serviceName"]]["spec"]["clusterIP"] == "None"


class _Metrics(BaseHTTPRequestHandler):
    page = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(type(self).page)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.parametrize(
    ("lag", "since_commit", "since_start", "alive"),
    [
        (0, 3600, 7200, True),  # idle: nothing to read
        (5, 10, 7200, True),  # busy and committing
        (5, 3600, 7200, False),  # records wait, no commit for an hour
        (5, None, 60, True),  # just started, no commit yet (restoring its store)
        (5, None, 3600, False),  # an hour since start and never committed
    ],
)
def test_the_processor_liveness_probe(
    rendered: dict[str, str], lag: int, since_commit: int | None, since_start: int, alive: bool
) -> None:
    """The rendered exec probe, run against a metrics page in the Prometheus text format:
    it fails only when records wait and nothing was committed for 300 s (since the last
    commit, or the start when there was none)."""

    (processor,) = [o for o in objects(rendered["default"]) if o["kind"] == "StatefulSet"]
    container = processor["spec"]["template"]["spec"]["containers"][0]
    command = container["livenessProbe"]["exec"]["command"]
    now = time.time()
    last = 0.0 if since_commit is None else now - since_commit
    # The page as prometheus_client writes it, under the names metrics.py declares.
    lag_name = next(iter(metrics.CONSUMER_LAG.describe())).name
    commit_name = next(iter(metrics.PROCESSOR_LAST_COMMIT.describe())).name
    registry = CollectorRegistry()
    lags = Gauge(lag_name, "lag", ["group", "topic", "partition"], registry=registry)
    lags.labels("journey-processor", "nrm.support", "0").set(lag)
    lags.labels("journey-processor", "nrm.support", "1").set(0)
    Gauge(commit_name, "last commit", registry=registry).set(last)
    Gauge("process_start_time_seconds", "start", registry=registry).set(now - since_start)
    _Metrics.page = generate_latest(registry)
    server = HTTPServer(("127.0.0.1", 0), _Metrics)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = subprocess.run(
            [sys.executable, *command[1:]],
            env={"METRICS_PORT": str(server.server_address[1])},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    finally:
        server.shutdown()
    assert command[0] == "python"
    assert (result.returncode == 0) == alive, result.stderr


def test_topics_are_the_catalogue(rendered: dict[str, str]) -> None:
    catalogue = yaml.safe_load((ROOT / "schemas" / "topics.yaml").read_text())["topics"]
    topics = {
        o["spec"]["topicName"]: o["spec"]
        for o in objects(rendered["monitoring-topics"])
        if o["kind"] == "KafkaTopic"
    }
    assert set(topics) == set(catalogue)
    for name, spec in catalogue.items():
        assert topics[name]["partitions"] == spec["partitions"]
        assert topics[name]["config"]["cleanup.policy"] == spec["cleanup_policy"]
        assert topics[name]["config"]["retention.ms"] == spec["retention_ms"]
    assert not [o for o in objects(rendered["default"]) if o["kind"] == "KafkaTopic"]


def test_the_prometheus_rule_is_the_alerting_rules(rendered: dict[str, str]) -> None:
    alerts = yaml.safe_load((ROOT / "deploy" / "observability" / "alerts.yaml").read_text())
    found = objects(rendered["monitoring-topics"])
    (rule,) = [o for o in found if o["kind"] == "PrometheusRule"]
    assert rule["spec"]["groups"] == alerts["groups"]  # templates like {{ $labels.group }} intact
    (monitor,) = [o for o in found if o["kind"] == "ServiceMonitor"]
    assert monitor["spec"]["jobLabel"] == "app.kubernetes.io/component"
    jobs = {
        o["metadata"]["labels"]["app.kubernetes.io/component"]
        for o in found
        if o["kind"] == "Service"
    }
    # The jobs the ServiceDown alert names are the Services' components.
    (service_down,) = [
        r for g in alerts["groups"] for r in g["rules"] if r.get("alert") == "ServiceDown"
    ]
    named = set(re.search(r'job=~"([^"]+)"', service_down["expr"]).group(1).split("|"))  # type: ignore[union-attr]
    assert jobs == named
    assert not [o for o in objects(rendered["default"]) if o["kind"] == "ServiceMonitor"]


def test_network_policies(chart_tools: Tools, rendered: dict[str, str]) -> None:
    found = [o for o in objects(rendered["default"]) if o["kind"] == "NetworkPolicy"]
    policies = {o["metadata"]["name"].removeprefix("journeys-victim-journey-"): o for o in found}
    assert set(policies) == {"default-deny", "egress", "partner-apis", "analytics", "webhooks"}
    deny = policies["default-deny"]["spec"]
    assert deny["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in deny
    egress_ports = {
        p["port"] for rule in policies["egress"]["spec"]["egress"] for p in rule["ports"]
    }
    assert egress_ports == {53, 9092, 5432}
    # Webhooks leave from the flags service only, on HTTPS, never into private ranges.
    webhooks = policies["webhooks"]["spec"]
    assert webhooks["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "flags"
    (rule,) = webhooks["egress"]
    assert rule["ports"] == [{"port": 443, "protocol": "TCP"}]
    assert {"10.0.0.0/8", "169.254.0.0/16", "127.0.0.0/8"} <= set(
        rule["to"][0]["ipBlock"]["except"]
    )
    monitored = objects(render(chart_tools.helm, *[values_file("monitoring-topics")]))
    assert any(
        o["metadata"]["name"].endswith("-metrics")
        for o in monitored
        if o["kind"] == "NetworkPolicy"
    )
    off = render(chart_tools.helm, values_file("default"), sets=("networkPolicy.enabled=false",))
    assert not [o for o in objects(off) if o["kind"] == "NetworkPolicy"]


def test_migrations_run_as_a_pre_install_and_pre_upgrade_hook(rendered: dict[str, str]) -> None:
    (job,) = [o for o in objects(rendered["default"]) if o["kind"] == "Job"]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    env = {e["name"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert {
        f"{db}_DATABASE_URL" for db in ("REFERRAL", "SUPPORT", "PROSECUTION", "FLAGS", "ANALYTICS")
    } <= env
    assert not [o for o in objects(rendered["minimal"]) if o["kind"] == "Job"]


# -- checkov


def _waivers() -> dict[str, str]:
    waivers: dict[str, str] = yaml.safe_load((HELM_DIR / "checkov-waivers.yaml").read_text())
    return waivers


def test_every_checkov_waiver_has_a_reason() -> None:
    for check, reason in _waivers().items():
        assert re.fullmatch(r"CKV2?_K8S_\d+", check)
        assert len(reason.split()) >= 10, check


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_checkov_finds_nothing_unwaived(chart_tools: Tools, scenario: str) -> None:
    result = run(
        [
            chart_tools.checkov,
            "--directory",
            CHART,
            "--framework",
            "helm",
            "--var-file",
            values_file(scenario),
            "--skip-check",
            ",".join(_waivers()),
            "--skip-download",
            "--output",
            "json",
            "--quiet",
            "--compact",
        ],
        env=checkov_environment(chart_tools.helm),
    )
    assert result.stdout.strip(), f"checkov printed nothing:\n{result.stderr[-3000:]}"
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    helm = [r for r in reports if r.get("check_type") == "helm"]
    # checkov skips a chart it could not template (no helm, a helm error) without failing:
    # no helm report, or one with no resources, is that.
    assert helm, f"checkov skipped the helm framework:\n{result.stdout[:2000]}"
    summary = helm[0]["summary"]
    assert summary["resource_count"] >= 18 and summary["passed"] > 100, summary
    assert summary["parsing_errors"] == 0, summary
    failed = [
        (c["check_id"], c["check_name"], c["resource"]) for c in helm[0]["results"]["failed_checks"]
    ]
    assert not failed
    assert result.returncode == 0, result.stderr[-3000:]


# -- the generated files


def test_chart_copies_and_readme_are_up_to_date() -> None:
    result = run([sys.executable, HELM_DIR / "generate.py", "--check"])
    assert result.returncode == 0, result.stderr
