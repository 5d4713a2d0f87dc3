"""check_tokenizer.py: our tokenizer (reap tokenize --jsonl) against HF `tokenizers` on >= 10,000
deterministic strings, for (a) a tokenizer.json synthesised by reap (tests/tool_toksynth), (b) a
byte-level BPE trained here by `tokenizers` with GPT-2's regex and added tokens of every kind, and
(c, d) variants of (b) whose pre-tokenizers exercise the other Split behaviours, invert and
ignore_merges, (e) a byte-level BPE trained by `tokenizers` with the NFC normalizer and (f) it with
Sequence [NFC, Replace, Prepend], on strings rich in decomposed text (Latin, Vietnamese, Hangul
jamo, Devanagari, Greek, mark runs). Also decode(encode(s)) == s through our decoder, and our NFC /
NFD (tests/tool_nfc) against Python's unicodedata over every code point and random mark runs.
Prints PASS/FAIL lines.

The `tokenizers` library normalises with its own Unicode tables (older than Python's: 9.0 in the
versions tried), so the normalisation-rich strings use characters assigned by Unicode 9.0 only.
"""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import unicodedata

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

REAP = os.environ.get("REAP", "build/reap")
BUILD = os.environ.get("BUILD", "build")
TOOL = os.path.join(BUILD, "tests", "tool_toksynth")
NFC_TOOL = os.path.join(BUILD, "tests", "tool_nfc")
failures = 0


def report(name, ok, detail=""):
    global failures
    print(("PASS " if ok else "FAIL ") + name + ("" if ok else ": " + detail))
    failures += 0 if ok else 1


# ---- deterministic test strings ----

CODE = [
    "def f(x):\n    return x ** 2  # square\n",
    "int main(void) {\n\tprintf(\"%d\\n\", 42);\n\treturn 0;\n}\n",
    "fn main() { let v: Vec<u32> = (0..10).collect(); println!(\"{:?}\", v); }",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name DESC LIMIT 10;",
    "for f in *.txt; do echo \"$f\" | tr a-z A-Z >> out.log; done",
    "const x = async () => { await fetch('/api/v1?q=1&r=2'); };",
    "public static void Main(string[] args) { Console.WriteLine($\"Hi {args[0]}\"); }",
    "package main\nimport \"fmt\"\nfunc main() { fmt.Println(\"héllo\") }\n",
    "<div class=\"x\">&nbsp;<a href='#'>link</a></div>",
    "{\"key\": [1, 2.5e-3, null, true], \"nested\": {\"a\": \"b\"}}",
    "x = [i for i in range(100) if i % 3 == 0]\r\nprint(x)\r\n",
    "#include <stdio.h>\n#define MAX(a,b) ((a)>(b)?(a):(b))\n",
    "    if (a && !b || c != d) { return -1; }\n",
    "let mut s = String::new(); s.push_str(\"ok\"); // TODO: fix\n",
    "diff --git a/x.py b/x.py\n@@ -1,3 +1,4 @@\n-old\n+new line\n",
    "    ", "\t\t", "   \n   \n", "a//b", "C:\\Users\\me\\file.txt", "https://example.com/path/to/x.html",
]
WORDS = ["the", "The", "THE", "don't", "DON'T", "it's", "IT'S", "we're", "WE'RE", "they've", "I'm", "I'M",
         "you'll", "YOU'LL", "he'd", "HE'D", "'s", "'S", "'ll", "'LL", "Straße", "naïve", "café", "coöperate",
         "Ωmega", "ΣΊΣΥΦΟΣ", "Москва", "привет", "שלום", "مرحبا", "नमस्ते", "ভাষা", "தமிழ்", "ไทย", "한국어",
         "日本語", "中文字符", "カタカナ", "ひらがな", "Ǆungla", "ǅ", "ǆ", "ſ", "'ſ", "K", "ﬁle", "ℌ", "ⅷ", "①", "²³",
         "١٢٣", "٣٤٥٦", "𝔘𝔫𝔦", "e\u0301", "a\u0308\u0301", "\u0301x", "n\u0303o", "Ａｂｃ", "ｶﾀｶﾅ", "x_y", "CamelCase",
         "snake_case", "HTTPServer", "getHTTPResponse", "iPhone", "McDonald's", "O'NEIL"]
EMOJI = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "❤️", "🇫🇷", "🧑🏾‍💻", "✈︎", "1️⃣", "🫠", "©", "™"]
SPACES = [" ", "  ", "   ", "\t", "\n", "\r\n", "\r", "\n\n", " \n", "\n ", " \r\n ", "\u00a0", "\u3000", "\u2003",
          "\u2028", "\u2029", "\x0b", "\x0c", "\x85", "\u202f", "\u205f", "\u1680", "\u180e", "\x1c", "\x1f", "\u200b",
          "\ufeff", " \t \n", "\r\n\r\n", "\n\r"]
PUNCT = [".", ",", "!", "?", "...", "--", "/", "//", "/*", "*/", "(", ")", "[]", "{}", "<>", "'", "\"", "`", "@", "#",
         "$", "%", "^", "&", "*", "-", "+", "=", "|", "\\", ":", ";", "~", "¿", "¡", "«", "»", "—", "…", "・"]
SPECIAL_A = ["]~!b[", "]~b]", "[e~[", "]!d~[", "<think>", "</think>", "<minimax:tool_call>", "</minimax:tool_call>",
             "]<]image[>[", "<fim_prefix>", "]~b", "<think", "[e~", "<minimax:tool_call"]
SPECIAL_B = ["<|endoftext|>", "<tool>", "</tool>", "foo_bar", "[MASK]", "ünï", "<|im_start|>", "<|im_end|>", "foo_bar_baz"]


def digits(r):
    return "".join(r.choice("0123456789") for _ in range(r.randint(1, 12)))


def fragment(r, specials):
    k = r.random()
    if k < 0.25: return r.choice(WORDS)
    if k < 0.35: return r.choice(SPACES)
    if k < 0.45: return r.choice(PUNCT)
    if k < 0.52: return digits(r)
    if k < 0.58: return r.choice(EMOJI)
    if k < 0.64: return r.choice(specials)
    if k < 0.70: return r.choice(CODE)
    if k < 0.75: return chr(r.choice([r.randint(0x20, 0x7e), r.randint(0xa0, 0x24f), r.randint(0x370, 0x52f),
                                       r.randint(0x4e00, 0x4fff), r.randint(0x3040, 0x30ff), r.randint(0xac00, 0xac40)]))
    return " " + r.choice(WORDS)


def make_strings(specials, lines, n=11000, seed=1234):
    r = random.Random(seed)
    out = ["", " ", "a", "\n", "\r\n", "  a", "a  ", "'s", "'S", "don'T", "123456789", "😀👍🏽", "]~b]", "]~b]]~b]",
           "<think></think>", "x<think>y", "\u0301", "\u0301\u0301", " \u0301", "a\r\n\r\n b", "\u00a0a", "ſt 'ſ"]
    out += CODE + WORDS + EMOJI + SPACES + PUNCT + specials
    out += [w + s for w in WORDS[:20] for s in ["'s", "'S", "'ll", "'LL", "'Ll", "'d", "'ve", "'re", "'m", "'t"]]
    out += [s * k for s in SPACES[:12] for k in (1, 2, 5, 17)]
    out += [digits(r) for _ in range(200)]
    out += [l for l in lines[:1500] if "\x00" not in l]
    while len(out) < n:
        out.append("".join(fragment(r, specials) for _ in range(r.randint(1, 25))))
    return out


# ---- normalisation-rich strings (characters of Unicode <= 9.0: see the module docstring) ----

MARKS = ([c for c in range(0x300, 0x370) if c not in (0x34F,)] + list(range(0x483, 0x488)) + list(range(0x591, 0x5BE))
         + list(range(0x64B, 0x653)) + list(range(0x1DC0, 0x1DF6)) + list(range(0x20D0, 0x20F1)) + [0x93C, 0x94D, 0x3099, 0x309A])
BASES = "aeiouyAEIOUYcnszgkrlwCNSZGKRLW" + "αεηιουωΑΕΗΙΟΥΩ" + "аеиоуАЕИОУ" + "かきくけこさしすせそはひふへほカキクケコ"
VIET = ["Tiếng Việt", "người", "những", "được", "Hà Nội", "phở bò", "Nguyễn", "trường", "khỏe", "điều", "cảm ơn", "quốc ngữ"]
GREEK = ["ἄνθρωπος", "Ἀθῆναι", "ᾧ", "ῥῆμα", "ὑπό", "ἐν ἀρχῇ ἦν ὁ λόγος"]
DEVA = ["क़िला", "ज़रूर", "फ़िल्म", "ड़", "ढ़", "य़", "ऩ", "ऱ", "ऴ", "हिन्दी", "संस्कृत", "क्षत्रिय"]
SINGLETONS = ["\u212b", "\u2126", "\u212a", "\u0340", "\u0341", "\u0343", "\u0344", "\u0374", "\u037e", "\u0387",
              "\u1f71", "\uf900", "\ufa0d", "\u2000", "\u2001", "\u0958", "\u095f", "\ufb1d", "\ufb2a", "\u2adc"]


def jamo(r):
    k = r.random()
    lv = chr(r.randint(0x1100, 0x1112)) + chr(r.randint(0x1161, 0x1175))
    if k < 0.4: return lv + chr(r.randint(0x11A7, 0x11C2))  # 0x11A7 is not a T: it must stay
    if k < 0.6: return lv
    if k < 0.7: return chr(0xAC00 + 28 * r.randint(0, 398)) + chr(r.randint(0x11A8, 0x11C2))  # LV + T
    if k < 0.8: return chr(r.randint(0xAC00, 0xD7A3)) + chr(r.randint(0x11A8, 0x11C2))        # LV or LVT + T
    return "".join(chr(r.choice([r.randint(0x1100, 0x11FF), r.randint(0x3131, 0x318E)])) for _ in range(r.randint(1, 4)))


def norm_fragment(r, specials):
    k = r.random()
    if k < 0.25: return r.choice(BASES) + "".join(chr(r.choice(MARKS)) for _ in range(r.randint(1, 4)))
    if k < 0.35: return unicodedata.normalize(r.choice(["NFD", "NFC"]), r.choice(VIET))
    if k < 0.45: return jamo(r)
    if k < 0.55: return unicodedata.normalize(r.choice(["NFD", "NFC"]), r.choice(DEVA)) + r.choice(["", "\u093c", "\u094d"])
    if k < 0.62: return unicodedata.normalize(r.choice(["NFD", "NFC"]), r.choice(GREEK))
    if k < 0.70: return r.choice(SINGLETONS)
    if k < 0.75: return "".join(chr(r.choice(MARKS)) for _ in range(r.randint(1, 3)))  # marks with no base
    if k < 0.80: return unicodedata.normalize("NFD", r.choice(WORDS))
    return fragment(r, specials)  # every family of the other tests


def make_norm_strings(specials, lines, n, seed):
    r = random.Random(seed)
    out = ["e\u0301", "\u212b", "\u1100\u1161\u11a8", "\u0915\u093c", "a\u0301\u0323", "a\u0325\u0325", "\u0301a",
           "cafe\u0301 na\u0308ive", unicodedata.normalize("NFD", "Tiếng Việt có dấu")]
    out += [unicodedata.normalize("NFD", l) for l in lines[:300]]
    while len(out) < n:
        out.append("".join(norm_fragment(r, specials) for _ in range(r.randint(1, 12))))
    return out


def check_nfc_tool(tmp):
    """Our NFC / NFD against unicodedata: every code point (in runs of 64), and random mark runs."""
    cps = [c for c in range(1, 0x110000) if not 0xD800 <= c <= 0xDFFF]
    strs = ["".join(chr(c) for c in cps[i:i + 64]) for i in range(0, len(cps), 64)]
    pool = [c for c in range(1, 0x30000) if not 0xD800 <= c <= 0xDFFF and
            (unicodedata.combining(chr(c)) or unicodedata.decomposition(chr(c)) or 0x1100 <= c <= 0x11FF)]
    r = random.Random(3)
    strs += ["".join(chr(r.choice(pool)) for _ in range(r.randint(1, 8))) for _ in range(15000)]
    path = os.path.join(tmp, "nfc_in.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for s in strs:
            f.write(json.dumps(s) + "\n")
    for form in ("NFC", "NFD"):
        p = subprocess.run([NFC_TOOL, form, path], capture_output=True)
        got = [json.loads(l) for l in p.stdout.decode("utf-8").split("\n")[:-1]] if p.returncode == 0 else []
        bad = [i for i in range(len(got)) if got[i] != unicodedata.normalize(form, strs[i])]
        detail = p.stderr.decode(errors="replace") if p.returncode else ""
        if bad:
            i = bad[0]
            detail = f"{len(bad)} differ; first {ascii(strs[i][:20])}: ours {ascii(got[i][:20])}"
        report(f"unicode_{form.lower()}_matches_python_unicodedata_{unicodedata.unidata_version} ({len(strs)} strings)",
               p.returncode == 0 and len(got) == len(strs) and not bad, detail)


# ---- running both ----

def ours(tok_path, items, tmp, name):
    path = os.path.join(tmp, name + ".jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for it in items:
            f.write(json.dumps(it) + "\n")
    p = subprocess.run([REAP, "tokenize", tok_path, "--jsonl", path], capture_output=True)
    if p.returncode != 0:
        return None, p.stderr.decode("utf-8", "replace").strip()
    return [json.loads(l) for l in p.stdout.decode("utf-8").split("\n")[:-1]], ""


def compare(name, tok_path, strings, tmp, exact_roundtrip=True):
    hf = Tokenizer.from_file(tok_path)
    want = [e.ids for e in hf.encode_batch(strings, add_special_tokens=False)]
    got, err = ours(tok_path, strings, tmp, name)
    if got is None or len(got) != len(want):
        report(f"tokenizer_matches_hf_{name}", False, f"reap tokenize failed: {err}")
        return
    bad = [i for i in range(len(want)) if got[i] != want[i]]
    detail = ""
    if bad:
        i = bad[0]
        detail = f"{len(bad)}/{len(want)} differ; first {strings[i]!r}: reap {got[i]} hf {want[i]}"
    report(f"tokenizer_matches_hf_{name} ({len(strings)} strings)", not bad, detail)
    dec, err = ours(tok_path, want, tmp, name + "_dec")
    if dec is None:
        report(f"tokenizer_decode_roundtrip_{name}", False, err)
        return
    # decode(encode(s)) == s where the tokenizer allows it; else (a byte-level added token like
    # "ünï" decodes to its bytes, as `tokenizers` does) the same text as `tokenizers` decode.
    ref = strings if exact_roundtrip else [hf.decode(w, skip_special_tokens=False) for w in want]
    bad = [i for i in range(len(strings)) if dec[i] != ref[i]]
    report(f"tokenizer_decode_{'roundtrip' if exact_roundtrip else 'matches_hf'}_{name}", not bad,
           f"{len(bad)} differ; first {strings[bad[0]]!r} -> {dec[bad[0]]!r}, want {ref[bad[0]]!r}" if bad else "")


def training_lines(tmp):
    """The project's text: built-in calibration data when zstd is there, plus our own sources."""
    text = ""
    for name in ("code", "tools"):
        f = os.path.join("calib", "data", name + ".jsonl.zst")
        if os.path.exists(f) and shutil.which("zstd"):
            p = subprocess.run(["zstd", "-dc", f], capture_output=True)
            if p.returncode == 0:
                text += p.stdout.decode("utf-8", "replace")
    for d in ("lib", "cmd", "tests"):
        for fn in sorted(os.listdir(d)):
            if fn.endswith((".c", ".h", ".py", ".sh")):
                with open(os.path.join(d, fn), encoding="utf-8", errors="replace") as f:
                    text += f.read()
    text = text.replace("\x00", "")
    return text, [l for l in text.splitlines(keepends=True) if l.strip()]


def main():
    tmp = tempfile.mkdtemp(prefix="reap_tok_")
    try:
        text, lines = training_lines(tmp)
        rs = random.Random(7)
        sample_lines = rs.sample(lines, min(1500, len(lines)))
        train_path = os.path.join(tmp, "train.txt")
        with open(train_path, "w", encoding="utf-8") as f:
            f.write(text)

        # (a) synthesised by reap
        synth = os.path.join(tmp, "synth.json")
        p = subprocess.run([TOOL, "3000", train_path, synth], capture_output=True)
        report("tokenizer_synth_writes_json", p.returncode == 0, p.stderr.decode(errors="replace"))
        if p.returncode == 0:
            hf = Tokenizer.from_file(synth)
            ids = [hf.token_to_id(t) for t in ("]~b]", "[e~[", "]!d~[", "]~!b[", "<think>", "</think>",
                                                   "<minimax:tool_call>", "</minimax:tool_call>")]
            want = [3000 - 54 + k for k in (19, 20, 21, 34, 50, 51, 52, 53)]
            report("tokenizer_synth_special_ids_at_top", ids == want and hf.get_vocab_size() == 3000,
                   f"ids {ids} want {want}, size {hf.get_vocab_size()}")
            compare("synth", synth, make_strings(SPECIAL_A, sample_lines), tmp)

        # (b) trained by `tokenizers`: GPT-2 regex via ByteLevel(use_regex), added tokens of every kind
        tk = Tokenizer(models.BPE())
        tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        tk.decoder = decoders.ByteLevel()
        tr = trainers.BpeTrainer(vocab_size=1500, special_tokens=["<|endoftext|>", "<pad>"], show_progress=False,
                                 initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        tk.train_from_iterator(lines, trainer=tr)
        tk.add_special_tokens([AddedToken("<|im_start|>", special=True), AddedToken("<|im_end|>", special=True),
                               AddedToken("[MASK]", lstrip=True, rstrip=True, special=True, normalized=False)])
        tk.add_tokens([AddedToken("<tool>"), AddedToken("</tool>"), AddedToken("foo_bar", single_word=True),
                       AddedToken("ünï", normalized=True), AddedToken("foo_bar_baz")])
        hfb = os.path.join(tmp, "hf_gpt2.json")
        tk.save(hfb)
        strings_b = make_strings(SPECIAL_B, sample_lines, seed=99)
        compare("hf_gpt2", hfb, strings_b, tmp, exact_roundtrip=False)

        # (c, d): the same model with other pre-tokenizers and ignore_merges
        with open(hfb, encoding="utf-8") as f:
            j = json.load(f)
        variants = {
            "behaviours": [{"type": "Split", "pattern": {"Regex": "\\d"}, "behavior": "MergedWithNext", "invert": False},
                           {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithPrevious", "invert": False},
                           {"type": "Split", "pattern": {"Regex": "[aeiou]+"}, "behavior": "Contiguous", "invert": True},
                           {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}],
            "removed_ignore_merges": [{"type": "Split", "pattern": {"Regex": "\\s+"}, "behavior": "Removed", "invert": False},
                                      {"type": "Split", "pattern": {"Regex": "\\p{P}"}, "behavior": "Isolated", "invert": False},
                                      {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}],
        }
        for name, seq in variants.items():
            j2 = json.loads(json.dumps(j))
            j2["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": seq}
            j2["model"]["ignore_merges"] = name == "removed_ignore_merges"
            path = os.path.join(tmp, name + ".json")
            with open(path, "w", encoding="utf-8") as f:
                json.dump(j2, f, ensure_ascii=False)
            hf = Tokenizer.from_file(path)
            strs = strings_b[:3000]
            want = [e.ids for e in hf.encode_batch(strs, add_special_tokens=False)]
            got, err = ours(path, strs, tmp, name)
            bad = [i for i in range(len(strs)) if got is None or got[i] != want[i]]
            report(f"tokenizer_matches_hf_{name} ({len(strs)} strings)", not bad,
                   err if got is None else (f"{len(bad)} differ; first {strs[bad[0]]!r}: reap {got[bad[0]]} hf {want[bad[0]]}" if bad else ""))

        # (e) trained by `tokenizers` with the NFC normalizer; (f) it with Sequence [NFC, Replace, Prepend]
        specials_n = ["<|im_start|>", "<|im_end|>", "cafe\u0301!", "caf\u00e9?", "\uac01\u11a8"]
        norm_lines = make_norm_strings(specials_n, sample_lines, 2000, seed=5)
        tk = Tokenizer(models.BPE())
        tk.normalizer = normalizers.NFC()
        tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        tk.decoder = decoders.ByteLevel()
        tr = trainers.BpeTrainer(vocab_size=1200, show_progress=False, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        tk.train_from_iterator(sample_lines + norm_lines, trainer=tr)
        tk.add_special_tokens([AddedToken("<|im_start|>", special=True), AddedToken("<|im_end|>", special=True)])
        tk.add_tokens([AddedToken("cafe\u0301!", normalized=True), AddedToken("caf\u00e9?", normalized=False),
                       AddedToken("\uac01\u11a8", normalized=True)])
        hfn = os.path.join(tmp, "hf_nfc.json")
        tk.save(hfn)
        strings_n = make_norm_strings(specials_n, sample_lines[300:], 4000, seed=11)
        compare("nfc", hfn, strings_n, tmp, exact_roundtrip=False)
        with open(hfn, encoding="utf-8") as f:
            jn = json.load(f)
        jn["normalizer"] = {"type": "Sequence", "normalizers": [
            {"type": "NFC"}, {"type": "Replace", "pattern": {"String": "\u00e9"}, "content": "e\u0301 "},
            {"type": "Replace", "pattern": {"String": "  "}, "content": " "}, {"type": "Prepend", "prepend": "\u2581"}]}
        path = os.path.join(tmp, "hf_nfc_seq.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(jn, f, ensure_ascii=False)
        compare("nfc_replace_prepend", path, strings_n[:3000], tmp, exact_roundtrip=False)
        check_nfc_tool(tmp)

        # Unsupported components fail naming the file and the component.
        j3 = json.loads(json.dumps(j))
        j3["normalizer"] = {"type": "NFKC"}
        path = os.path.join(tmp, "nfkc.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(j3, f)
        p = subprocess.run([REAP, "tokenize", path, "--text", "x"], capture_output=True)
        msg = p.stderr.decode(errors="replace")
        report("tokenizer_rejects_unsupported_normalizer", p.returncode != 0 and "nfkc.json" in msg and "NFKC" in msg, msg)
    finally:
        if os.environ.get("KEEP_TMP"):
            print("kept", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
