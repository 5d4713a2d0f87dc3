# conv.py: a small builder for tool-calling conversations in the OpenAI/HF message shape.
import json

from tool_schemas import BY_NAME, SCHEMAS

SYSTEM_PROMPTS = [
    None,
    None,
    "You are a helpful assistant with access to tools. Use them when they help; answer concisely.",
    "You are an autonomous coding agent working in the user's repository. Prefer small, verifiable steps.",
    "You are an operations assistant for the platform team. Never change production without saying what you will do.",
    "You are a personal assistant. Today is {today}. The user's time zone is {tz}.",
    "You help customers of an online shop. Be polite and precise about amounts.",
]


class Conv:
    def __init__(self, r, system=None, extra_tools=None):
        self.r = r
        self.messages = []
        self.used = []
        self.extra = list(extra_tools or [])
        self.pending = []
        self.n = 0
        if system:
            self.messages.append({"role": "system", "content": system})

    def user(self, text):
        self.messages.append({"role": "user", "content": text})
        return self

    def call(self, *calls, content="", reasoning=None):
        """calls: (name, args) pairs; several make a parallel call."""
        tcs = []
        for name, args in calls:
            assert name in BY_NAME, name
            props = BY_NAME[name]["function"]["parameters"]["properties"]
            for k in args:
                assert k in props, (name, k)
            if name not in self.used:
                self.used.append(name)
            self.n += 1
            cid = "call_%d" % self.n
            # about a quarter of the calls carry arguments as a JSON string (OpenAI wire style)
            a = json.dumps(args, ensure_ascii=False) if self.r.random() < 0.25 else args
            tcs.append({"id": cid, "type": "function", "function": {"name": name, "arguments": a}})
            self.pending.append((cid, name))
        m = {"role": "assistant", "content": content}
        if reasoning:
            m["reasoning_content"] = reasoning
        m["tool_calls"] = tcs
        self.messages.append(m)
        return self

    def results(self, *outs):
        assert len(outs) == len(self.pending), (len(outs), self.pending)
        for (cid, name), out in zip(self.pending, outs):
            text = out if isinstance(out, str) else json.dumps(out, ensure_ascii=False)
            self.messages.append({"role": "tool", "tool_call_id": cid, "name": name, "content": text})
        self.pending = []
        return self

    def say(self, text, reasoning=None):
        assert not self.pending
        m = {"role": "assistant", "content": text}
        if reasoning:
            m["reasoning_content"] = reasoning
        self.messages.append(m)
        return self

    def record(self, n_distractors=None):
        assert not self.pending
        names = list(self.used) + [t for t in self.extra if t not in self.used]
        if n_distractors is None:
            n_distractors = self.r.randint(0, 3)
        others = [s["function"]["name"] for s in SCHEMAS if s["function"]["name"] not in names]
        names += self.r.sample(others, n_distractors)
        self.r.shuffle(names)
        return {"messages": self.messages, "tools": [BY_NAME[n] for n in names]}


def system_for(r, kind=None, today="2025-03-14", tz="Europe/Berlin"):
    if kind is not None:
        return SYSTEM_PROMPTS[kind].format(today=today, tz=tz)
    s = r.choice(SYSTEM_PROMPTS)
    return s.format(today=today, tz=tz) if s else None
