"""Which AWS operations does the service's code call? Static analysis of the whole tree.

Finds every boto3 operation called on something obtained from ``aws_client("svc")`` or
``aws_resource("svc")``, directly or through any function, method or property of the project that
returns one (``def table(): return aws_resource("dynamodb").Table(...)``, ``self.s3``, ``.meta.client``),
through local variables, paginators (``get_paginator("op")``), waiters and presigning. A module
that obtains a service also has its other calls checked against that service's operation names
(objects passed in as parameters), and distinctive multi-word operation names (``put_item``,
``head_object``) are picked up anywhere. Shell scripts are scanned for ``aws <service> <command>``.

Every call is classed as ``runtime`` (the running service, its jobs and boot scripts),
``provisioning`` (a module defining provisioning ``Resource`` classes or an ``aws_resources.py``:
``provision_aws`` runs these, and the instance runs their reads with ``--check``) or ``operator``
(operator commands such as ``provision_compute`` and modules marked ``__aws_scope__ = "operator"``:
never run on an instance). New code
from any app is picked up without changes here.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import botocore.session
from botocore import xform_name

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".venv", "tests", "bench", "migrations", "node_modules", ".git", "staticfiles", "var", "__pycache__"}
FACTORIES = {"aws_client", "aws_resource"}
OPERATOR_COMMANDS = {"provision_aws", "provision_compute", "iam_policy"}
# Resource-API and client helpers that are not operation names themselves.
HELPER_OPERATIONS = {
    ("dynamodb", "batch_writer"): "BatchWriteItem",
    ("s3", "generate_presigned_post"): "PutObject",
    ("s3", "upload_file"): "PutObject",
    ("s3", "upload_fileobj"): "PutObject",
    ("s3", "download_file"): "GetObject",
    ("s3", "download_fileobj"): "GetObject",
}
# CLI high-level commands (aws s3 cp s3://... local) and the operations behind them.
CLI_S3_COMMANDS = {"cp": ["GetObject"], "sync": ["ListObjectsV2", "GetObject"], "ls": ["ListObjectsV2"]}


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    path: str
    line: int
    scope: str  # "runtime" | "provisioning" | "operator"
    how: str  # "resolved" | "module" | "name" | "cli"
    params: frozenset[str] = frozenset()  # top-level request parameters the call may pass

    def __str__(self) -> str:
        extra = f" [{', '.join(sorted(self.params))}]" if self.params else ""
        return f"{self.service}:{self.operation}{extra} ({self.path}:{self.line}, {self.scope}, {self.how})"


@cache
def operations(service: str) -> dict[str, str]:
    """snake_case method name -> OperationName for a botocore service."""
    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(op): op for op in model.operation_names}


@cache
def waiter_operations(service: str) -> dict[str, str]:
    session = botocore.session.get_session()
    try:
        model = session.get_waiter_model(service)
    except Exception:
        return {}
    return {xform_name(name): model.get_waiter(name).operation for name in model.waiter_names}


def python_files(root: Path = ROOT) -> list[Path]:
    found = []
    for path in root.rglob("*.py"):
        if any(part in SKIP_DIRS for part in path.relative_to(root).parts):
            continue
        found.append(path)
    return sorted(found)


def _literal_service(call: ast.Call) -> str | None:
    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    return None


def _func_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


class _Module:
    def __init__(self, path: Path):
        self.path = path
        self.rel = str(path.relative_to(ROOT))
        self.tree = ast.parse(path.read_text(), filename=str(path))
        self.imported_modules: set[str] = set()
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    self.imported_modules.add((alias.asname or alias.name).split(".")[0])
            elif isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    self.imported_modules.add(alias.asname or alias.name)


def _is_operator_module(rel: str) -> bool:
    return "/management/commands/" in rel and Path(rel).stem in OPERATOR_COMMANDS


def _declares_scope(tree: ast.Module) -> str | None:
    """A module-level ``__aws_scope__`` ("operator" or "provisioning") classes the whole module."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__aws_scope__"
                                                for t in node.targets):
            if isinstance(node.value, ast.Constant):
                return str(node.value.value)
    return None


class Analyzer:
    def __init__(self, files: list[Path] | None = None):
        self.modules = [_Module(p) for p in (files or python_files())]
        # function/property name -> services of the client/resource it returns
        self.factories: dict[str, set[str]] = defaultdict(set)
        self.resource_classes: set[str] = {"Resource"}
        self.used_services: set[str] = set()
        self.runtime_services: set[str] = set()
        self.calls: set[Call] = set()

    # -- pass 1: what returns a client ---------------------------------------------------------
    def _expr_services(self, node: ast.expr | None, env: dict[str, set[str]]) -> set[str]:
        """Services of the client/resource/table an expression evaluates to (empty if none)."""
        if node is None:
            return set()
        if isinstance(node, ast.Call):
            name = _func_name(node.func)
            if name in FACTORIES:
                service = _literal_service(node)
                return {service} if service else set()
            if isinstance(node.func, ast.Attribute):
                inner = self._expr_services(node.func.value, env)
                if inner and node.func.attr in ("Table", "Bucket", "Object", "batch_writer"):
                    return inner
            if name in self.factories:
                return set(self.factories[name])
            return set()
        if isinstance(node, ast.Name):
            return set(env.get(node.id, set()))
        if isinstance(node, ast.Attribute):
            if node.attr in ("meta", "client"):
                return self._expr_services(node.value, env)
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls") and node.attr in self.factories:
                return set(self.factories[node.attr])
        return set()

    def _collect_factories(self) -> None:
        changed = True
        while changed:
            changed = False
            for module in self.modules:
                for node in ast.walk(module.tree):
                    if isinstance(node, ast.ClassDef):
                        bases = {_func_name(b) for b in node.bases}
                        if bases & self.resource_classes and node.name not in self.resource_classes:
                            self.resource_classes.add(node.name)
                            changed = True
                    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                        continue
                    env = self._local_env(node)
                    for child in ast.walk(node):
                        if isinstance(child, ast.Return):
                            services = self._expr_services(child.value, env)
                            if services - self.factories[node.name]:
                                self.factories[node.name] |= services
                                changed = True

    def _local_env(self, func: ast.AST) -> dict[str, set[str]]:
        env: dict[str, set[str]] = defaultdict(set)
        for _ in range(2):  # assignments that depend on earlier ones
            for node in ast.walk(func):
                targets: list[ast.expr] = []
                value = None
                if isinstance(node, ast.Assign):
                    targets, value = node.targets, node.value
                elif isinstance(node, ast.AnnAssign | ast.NamedExpr):
                    targets, value = [node.target], node.value
                elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                    targets, value = [node.optional_vars], node.context_expr
                services = self._expr_services(value, env)
                for target in targets:
                    if isinstance(target, ast.Name) and services:
                        env[target.id] |= services
        return env

    # -- pass 2: calls -------------------------------------------------------------------------
    def run(self) -> set[Call]:
        self._collect_factories()
        for module in self.modules:
            self._find_services(module, module.tree, [])
        for module in self.modules:
            self._scan_module(module)
        return self.calls

    def _find_services(self, module: _Module, node: ast.AST, stack: list[ast.AST]) -> None:
        if isinstance(node, ast.Call) and _func_name(node.func) in FACTORIES:
            service = _literal_service(node)
            if service:
                self.used_services.add(service)
                if self._scope_of(module, stack) == "runtime":
                    self.runtime_services.add(service)
        for child in ast.iter_child_nodes(node):
            self._find_services(module, child, [*stack, node])

    def _scope_of(self, module: _Module, stack: list[ast.AST]) -> str:
        declared = _declares_scope(module.tree)
        if declared in ("operator", "provisioning"):
            return declared
        if _is_operator_module(module.rel):
            return "operator"
        if Path(module.rel).name == "aws_resources.py":
            return "provisioning"
        if any(isinstance(n, ast.ClassDef) and {_func_name(b) for b in n.bases} & self.resource_classes
               for n in module.tree.body):
            return "provisioning"  # a module of provisioning resources is provisioning code throughout
        for node in stack:
            if isinstance(node, ast.ClassDef) and node.name in self.resource_classes:
                return "provisioning"
        return "runtime"

    def _add(self, service: str, method: str, module: _Module, node: ast.Call, scope: str, how: str,
             func: ast.AST | None = None) -> bool:
        ops = operations(service)
        operation = None
        if method in ops:
            operation = ops[method]
        elif (service, method) in HELPER_OPERATIONS:
            operation = HELPER_OPERATIONS[(service, method)]
        elif method in ("get_paginator", "can_paginate", "generate_presigned_url") and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and arg.value in ops:
                operation = ops[arg.value]
        elif method == "get_waiter" and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant):
                operation = waiter_operations(service).get(arg.value)
        if operation is None:
            return False
        params = frozenset(self._params(node, func))
        self.calls.add(Call(service, operation, module.rel, node.lineno, scope, how, params))
        return True

    @staticmethod
    def _params(node: ast.Call, func: ast.AST | None) -> set[str]:
        """Keyword names, including keys put into a ``**kwargs`` dict in the same function."""
        found: set[str] = set()
        spread: set[str] = set()
        for keyword in node.keywords:
            if keyword.arg is not None:
                found.add(keyword.arg)
            elif isinstance(keyword.value, ast.Name):
                spread.add(keyword.value.id)
        if spread and func is not None:
            for child in ast.walk(func):
                if isinstance(child, ast.Subscript) and isinstance(child.value, ast.Name) and \
                        child.value.id in spread and isinstance(child.slice, ast.Constant):
                    found.add(str(child.slice.value))
                if isinstance(child, ast.Assign) and isinstance(child.value, ast.Dict):
                    if any(isinstance(t, ast.Name) and t.id in spread for t in child.targets):
                        found |= {str(k.value) for k in child.value.keys if isinstance(k, ast.Constant)}
                if isinstance(child, ast.AnnAssign) and isinstance(child.value, ast.Dict) and \
                        isinstance(child.target, ast.Name) and child.target.id in spread:
                    found |= {str(k.value) for k in child.value.keys if isinstance(k, ast.Constant)}
        return found

    @staticmethod
    def _foreign_receiver(module: _Module, receiver: ast.expr, method: str, stack: list[ast.AST]) -> bool:
        """Receivers that are certainly not AWS objects: imported modules, Django managers,
        ``self`` and ``super()``."""
        if isinstance(receiver, ast.Name) and receiver.id in module.imported_modules:
            return True
        if isinstance(receiver, ast.Attribute) and receiver.attr == "objects":
            return True
        if isinstance(receiver, ast.Name) and receiver.id in ("self", "cls"):
            return True  # clients live in attributes (self.s3.x), never on self itself
        if isinstance(receiver, ast.Call) and _func_name(receiver.func) == "super":
            return True
        return False

    def _scan_module(self, module: _Module) -> None:
        module_services: set[str] = set()
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Call):
                name = _func_name(node.func)
                if name in FACTORIES and _literal_service(node):
                    module_services.add(_literal_service(node))
                elif name in self.factories:
                    module_services |= self.factories[name]

        def visit(node: ast.AST, stack: list[ast.AST], env: dict[str, set[str]]) -> None:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                env = {**env, **self._local_env(node)}
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                method = node.func.attr
                receiver = node.func.value
                scope = self._scope_of(module, stack)
                services = self._expr_services(receiver, env)
                handled = False
                func = next((n for n in reversed(stack) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)), None)
                for service in services:
                    handled |= self._add(service, method, module, node, scope, "resolved", func)
                if not handled and not services and not self._foreign_receiver(module, receiver, method, stack):
                    for service in module_services:
                        handled |= self._add(service, method, module, node, scope, "module", func)
                    if not handled and "_" in method:
                        for service in self.runtime_services:
                            self._add(service, method, module, node, scope, "name", func)
                if "call" in method.lower() and node.args and isinstance(node.args[0], ast.Constant):
                    # self._idempotent_call("create_log_stream", ...): an operation named by a string
                    for service in self.runtime_services | module_services:
                        if isinstance(node.args[0].value, str) and "_" in node.args[0].value:
                            fake = ast.Call(func=ast.Attribute(value=receiver, attr=node.args[0].value), args=[],
                                            keywords=[], lineno=node.lineno)
                            self._add(service, node.args[0].value, module, fake, scope, "name")
            for child in ast.iter_child_nodes(node):
                visit(child, [*stack, node], env)

        visit(module.tree, [], {})


# -- shell ---------------------------------------------------------------------------------------
_AWS_CLI = re.compile(r"(?:^|[\s;|&(`])aws\s+(?:--[\w-]+(?:[ =]\S+)?\s+)*([a-z0-9-]+)\s+([a-z0-9-]+)")


def shell_files(root: Path = ROOT) -> list[Path]:
    found = []
    for path in root.rglob("*"):
        if not path.is_file() or any(part in SKIP_DIRS for part in path.relative_to(root).parts):
            continue
        if path.suffix == ".sh":
            found.append(path)
            continue
        try:
            head = path.read_bytes()[:64]
        except OSError:
            continue
        if head.startswith(b"#!") and re.match(rb"#![^\n]*\b(ba)?sh\b", head):
            found.append(path)
    return sorted(found)


def cli_calls(text: str, rel: str) -> set[Call]:
    found: set[Call] = set()
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("#"):
            continue
        for match in _AWS_CLI.finditer(stripped):
            service, command = match.groups()
            if service == "s3":
                for op in CLI_S3_COMMANDS.get(command, []):
                    found.add(Call("s3", op, rel, number, "runtime", "cli"))
                continue
            try:
                ops = operations(service)
            except Exception:
                continue
            op = ops.get(command.replace("-", "_"))
            if op:
                found.add(Call(service, op, rel, number, "runtime", "cli"))
    return found


def cloud_config_scripts(root: Path = ROOT) -> list[tuple[str, str]]:
    """Shell scripts inside cloud-config files: write_files entries with a shebang, and runcmd."""
    import yaml

    found: list[tuple[str, str]] = []
    for path in sorted([*root.rglob("*.yaml"), *root.rglob("*.yml")]):
        if any(part in SKIP_DIRS for part in path.relative_to(root).parts):
            continue
        text = path.read_text(errors="replace")
        if not text.startswith("#cloud-config"):
            continue
        config = yaml.safe_load(text) or {}
        rel = str(path.relative_to(root))
        for entry in config.get("write_files", []):
            content = entry.get("content", "")
            if content.startswith("#!") and re.match(r"#![^\n]*\b(ba)?sh\b", content):
                found.append((f"{rel}:{entry['path']}", content))
        commands = [c if isinstance(c, str) else " ".join(map(str, c)) for c in config.get("runcmd", [])]
        if commands:
            found.append((f"{rel}:runcmd", "#!/bin/bash\n" + "\n".join(commands) + "\n"))
    return found


def shell_calls(root: Path = ROOT) -> set[Call]:
    calls: set[Call] = set()
    for path in shell_files(root):
        calls |= cli_calls(path.read_text(errors="replace"), str(path.relative_to(root)))
    for name, text in cloud_config_scripts(root):
        calls |= cli_calls(text, name)
    return calls


def all_calls() -> set[Call]:
    return Analyzer().run() | shell_calls()


if __name__ == "__main__":
    for call in sorted(all_calls(), key=lambda c: (c.scope, c.service, c.operation, c.path)):
        print(call)
