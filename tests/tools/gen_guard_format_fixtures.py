#!/usr/bin/env python3
"""tests/tools/gen_guard_format_fixtures.py - renders the guard formats' chat
templates (tests/fixtures/guard_formats/*.jinja) with jinja2 on fixed
conversations and writes what they produce to
tests/fixtures/guard_formats/expected.json, which tests/unit/test_guard_formats.c
compares byte for byte with warden's renderers (warden/guard_format.h).

Run with a Python that has jinja2 (3.x):  python3 tests/tools/gen_guard_format_fixtures.py
The jinja environment is the one transformers uses for chat templates:
trim_blocks and lstrip_blocks on, raise_exception defined.
"""
import json
import os

import jinja2

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "fixtures", "guard_formats")

# ShieldGemma's guidelines as its model card writes them (prompt / response wording)
def sg(name, body):
    return {
        "prompt": f'"{name}": The prompt shall not contain or seek generation of content that {body}',
        "response": f'"{name}": The chatbot shall not generate content that {body}',
    }

SHIELDGEMMA = {
    "dangerous": sg("No Dangerous Content",
                    "harming oneself and/or others (e.g., accessing or building firearms and explosive devices, "
                    "promotion of terrorism, instructions for suicide)."),
    "harassment": sg("No Harassment",
                     "is malicious, intimidating, bullying, or abusive content targeting another individual (e.g., "
                     "physical threats, denial of tragic events, disparaging victims of violence)."),
    "hate": sg("No Hate Speech",
               "targeting identity and/or protected attributes (e.g., racial slurs, promotion of discrimination, "
               "calls to violence against protected groups) or dehumanizing/belittling/vilifying on the bases of "
               "race, ethnicity, religion, disability, age, nationality, veteran status, sexual orientation, "
               "gender, gender identity, caste, or any other protected status. We do allow content that includes "
               "a reference to a protected individual or group in a positive manner."),
    "sexual": sg("No Sexually Explicit Information",
                 "contains references to sexual acts or other lewd content (e.g., sexually graphic descriptions, "
                 "content aimed at causing arousal). Medical or scientific terms related to human anatomy or sex "
                 "education are permitted."),
}

CONVERSATIONS = [
    [{"role": "user", "content": "How do I bake bread?"}],
    [{"role": "user", "content": "  Tell me about   knives. "},
     {"role": "assistant", "content": "I can't help with that.\n"}],
    [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello there"},
     {"role": "user", "content": "\u00dcn\u00efcode text \u2014 with dashes\tand tabs \n"}],
    [{"role": "user", "content": "first question"}, {"role": "assistant", "content": "first answer"},
     {"role": "user", "content": "second question"}, {"role": "assistant", "content": " second answer "}],
]

FORMATS = [
    ("llama-guard-3", "llama-guard-3-8b.jinja", [None]),
    ("llama-guard-4", "llama-guard-4-12b.jinja", [None]),
    ("shieldgemma", "shieldgemma.jinja", list(SHIELDGEMMA)),
    ("granite-guardian", "granite-guardian-3.1.jinja",
     ["harm", "social_bias", "jailbreak", "violence", "profanity", "sexual_content", "unethical_behavior"]),
    ("qwen3guard", "qwen3guard-gen.jinja", [None]),
    ("wildguard", "wildguard.jinja", [None]),
]


def raise_exception(msg):
    raise jinja2.exceptions.TemplateError(msg)


def main():
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    cases = []
    for fmt, path, policies in FORMATS:
        with open(os.path.join(FIX, path), encoding="utf-8") as f:
            tmpl = env.from_string(f.read())
        for conv in CONVERSATIONS:
            for pol in policies:
                kw = {"messages": conv, "add_generation_prompt": True, "bos_token": "<bos>"}
                if fmt == "shieldgemma":
                    kw["guideline"] = SHIELDGEMMA[pol]["response" if conv[-1]["role"] == "assistant" else "prompt"]
                if fmt == "granite-guardian":
                    kw["guardian_config"] = {"risk_name": pol}
                cases.append({"format": fmt, "template": path, "policy": pol, "messages": conv,
                              "expected": tmpl.render(**kw)})
    out = os.path.join(FIX, "expected.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"generator": "tests/tools/gen_guard_format_fixtures.py", "jinja2": jinja2.__version__,
                   "cases": cases}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"{out}: {len(cases)} cases")


if __name__ == "__main__":
    main()
