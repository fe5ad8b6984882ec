# Generates sp-more-golden.json: ids that libsentencepiece (Debian's
# python3-sentencepiece 0.1.97, `apt-get install python3-sentencepiece`, run
# with /usr/bin/python3) gives for the two real SentencePiece models in
# testdata/sentencepiece at the repository root, on JSTS and STS-benchmark
# sentences (from testdata/eval), random runs of pieces, and repeated characters (where
# segmentations of equal score tie). backend/llama's tests compare llama.cpp
# with it. Sentences are stored by index into testdata/eval's files (JSTS and
# STS texts are CC-BY-SA; they are not copied here): "jsts": i is the i-th sentence of
# valid-v1.3.json taking sentence1, sentence2 line by line; "sts": i the same
# over the 6th and 7th tab-separated fields of sts-test.csv.
# Usage: /usr/bin/python3 sp_more_golden.py ../../../testdata
import json, random, sys
import sentencepiece as spm

ref = sys.argv[1]
random.seed(7)
ja = []
for line in open(f"{ref}/eval/jglue/datasets/jsts-v1.3/valid-v1.3.json", encoding="utf-8"):
    pair = json.loads(line)
    ja += [pair["sentence1"], pair["sentence2"]]
en = []
for line in open(f"{ref}/eval/stsbenchmark/sts-test.csv", encoding="utf-8"):
    fields = line.rstrip("\n").split("\t")
    if len(fields) >= 7:
        en += [fields[5], fields[6]]
picked = [("jsts", i) for i in random.sample(range(len(ja)), 150)] + [("sts", i) for i in random.sample(range(len(en)), 150)]
for c in ".-ーあ。…":
    for n in (2, 3, 5, 7, 8):
        picked += [("text", t) for t in (c * n, "x" + c * n, " " + c * n + " y")]
source = {"jsts": ja, "sts": en}

models = {}
for name in ["test_model.model", "test_ja_model.model"]:
    sp = spm.SentencePieceProcessor(model_file=f"{ref}/sentencepiece/{name}")
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size()) if not (sp.is_control(i) or sp.is_unknown(i))]
    cases = picked[:]
    for _ in range(100):
        run = "".join(random.choice(pieces) for _ in range(random.randint(1, 8)))
        cases.append(("text", run.replace("\u2581", random.choice([" ", "  ", "", "\t"]))))
    models[name] = [{kind: ref_, "ids": sp.encode(source[kind][ref_] if kind != "text" else ref_)} for kind, ref_ in cases]

json.dump({"generator": "libsentencepiece 0.1.97 (Debian python3-sentencepiece), sp.encode(text)", "models": models},
          open("sp-more-golden.json", "w", encoding="utf-8"), ensure_ascii=False, separators=(",", ":"))
