"""The generated ValidatingAdmissionPolicies in a second CEL implementation (cel-python).

Reads the vectors tests/policy_vap.rs wrote: the policies of each catalogue, and for each
object the validations cel-rust found failing, with their messages. Evaluates every
vector as the API server does (variables in order, then validations) and exits non-zero,
naming the object, where cel-python disagrees. Prints the number of vectors checked.
"""

import json
import sys

import celpy
from celpy import celtypes


def lower_ascii(text):
    """The strings extension's lowerAscii(), which Kubernetes enables."""
    return celtypes.StringType("".join(c.lower() if c.isascii() else c for c in text))


FUNCTIONS = {"lowerAscii": lower_ascii}


class Policy:
    def __init__(self, spec):
        env = celpy.Environment()
        compile_ = lambda source: env.program(env.compile(source), functions=FUNCTIONS)
        self.variables = [(v["name"], compile_(v["expression"])) for v in spec["variables"]]
        self.validations = [
            (compile_(v["expression"]), compile_(v["messageExpression"]))
            for v in spec["validations"]
        ]

    def failures(self, activation):
        variables = {}
        for name, program in self.variables:
            activation["variables"] = celtypes.MapType(variables)
            value = program.evaluate(activation)
            if isinstance(value, celpy.CELEvalError):
                raise RuntimeError(f"variable {name}: {value}")
            variables[celtypes.StringType(name)] = value
        activation["variables"] = celtypes.MapType(variables)
        messages = []
        for expression, message in self.validations:
            verdict = expression.evaluate(activation)
            if not isinstance(verdict, celtypes.BoolType):
                raise RuntimeError(f"validation gave {verdict!r}")
            if not verdict:
                messages.append(str(message.evaluate(activation)))
        return messages


def main():
    with open(sys.argv[1], encoding="utf-8") as handle:
        data = json.load(handle)
    policies = [
        (p["params"], Policy(p["exposure"]), Policy(p["lifecycle"])) for p in data["policies"]
    ]
    wrong = []
    for vector in data["vectors"]:
        params, exposure, lifecycle = policies[vector["catalogue"]]
        obj = vector["object"]
        namespace = obj.get("metadata", {}).get("namespace", "default")
        activation = {
            "object": celpy.json_to_cel(obj),
            "oldObject": None,
            "params": celpy.json_to_cel(params),
            "request": celpy.json_to_cel({"operation": "CREATE", "namespace": namespace}),
            "namespaceObject": celpy.json_to_cel(
                {"metadata": {"name": namespace, "labels": {"kubernetes.io/metadata.name": namespace}}}
            ),
        }
        got = (exposure.failures(dict(activation)), lifecycle.failures(dict(activation)))
        want = (vector["exposure"], vector["lifecycle"])
        if list(got) != list(want):
            name = f'{obj.get("kind")}/{obj.get("metadata", {}).get("name")}'
            wrong.append(f"{name}: cel-python {got}, cel-rust {want}")
    if wrong:
        print("\n".join(wrong))
        sys.exit(1)
    print(len(data["vectors"]))


if __name__ == "__main__":
    main()
