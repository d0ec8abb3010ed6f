"""`framescribe serve` with Ollama's official Python client (ollama, pinned in requirements.txt),
as Frigate's ollama provider and home tools call it: /api/chat with images (streamed and not),
/api/generate, /api/tags, /api/show, /api/version; and the same answer as the OpenAI route."""

import base64
import json

import httpx
import ollama
import openai
import pytest


def client(server):
    return ollama.Client(host=server.url, timeout=60)


def tag(server):
    return server.model + ":latest"


OPTIONS = {"temperature": 0, "num_predict": 24}


def test_chat_with_images(server, images):
    r = client(server).chat(model=tag(server), stream=False, options=OPTIONS,
                            messages=[{"role": "user", "content": "What moves?", "images": images[:2]}])
    assert r.done and r.done_reason in ("stop", "length")
    assert r.message.role == "assistant"
    assert isinstance(r.message.content, str) and r.message.content
    assert r.model == tag(server)
    assert 1 <= r.eval_count <= 24
    assert r.prompt_eval_count > 2 * 16  # two images of 4x4 patches at least
    assert r.total_duration > 0 and r.prompt_eval_duration > 0 and r.eval_duration > 0
    assert r.total_duration >= r.prompt_eval_duration + r.eval_duration
    assert r.load_duration == 0


def test_chat_streaming_equals_the_answer(server, images):
    msgs = [{"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What moves?", "images": images[:1]}]
    whole = client(server).chat(model=tag(server), messages=msgs, stream=False, options=OPTIONS)
    parts = list(client(server).chat(model=tag(server), messages=msgs, stream=True, options=OPTIONS))
    assert all(not p.done for p in parts[:-1])
    last = parts[-1]
    assert last.done and last.done_reason == whole.done_reason
    assert last.eval_count == whole.eval_count and last.prompt_eval_count == whole.prompt_eval_count
    assert "".join(p.message.content for p in parts) == whole.message.content


def test_stream_is_ndjson_by_default(server, images):
    body = {"model": server.model, "messages": [{"role": "user", "content": "Hi",
                                                 "images": [base64.b64encode(images[0]).decode()]}],
            "options": {"num_predict": 6}}
    with httpx.stream("POST", server.url + "/api/chat", json=body, timeout=60) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) for line in r.iter_lines() if line]
    assert lines[-1]["done"] is True and all(not x["done"] for x in lines[:-1])
    for key in ("total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration",
                "eval_count", "eval_duration", "done_reason"):
        assert key in lines[-1], key


def test_generate_equals_chat(server, images):
    chat = client(server).chat(model=tag(server), stream=False, options=OPTIONS,
                               messages=[{"role": "system", "content": "Short answers."},
                                         {"role": "user", "content": "Describe.", "images": images[:1]}])
    gen = client(server).generate(model=tag(server), prompt="Describe.", system="Short answers.",
                                  images=images[:1], stream=False, options=OPTIONS)
    assert gen.done and gen.response == chat.message.content
    assert gen.prompt_eval_count == chat.prompt_eval_count
    streamed = list(client(server).generate(model=tag(server), prompt="Describe.", system="Short answers.",
                                            images=images[:1], stream=True, options=OPTIONS))
    assert "".join(p.response for p in streamed) == gen.response


def test_same_answer_as_the_openai_route(server, images):
    o = ollama.Client(host=server.url).chat(
        model=server.model, stream=False, options=OPTIONS,
        messages=[{"role": "user", "content": "What moves?", "images": images[:2]}])
    uris = ["data:image/png;base64," + base64.b64encode(p).decode() for p in images[:2]]
    # Ollama places a message's images before its text.
    content = [{"type": "image_url", "image_url": {"url": u}} for u in uris]
    content.append({"type": "text", "text": "What moves?"})
    a = openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0).chat.completions.create(
        model=server.model, messages=[{"role": "user", "content": content}], temperature=0, max_tokens=24)
    assert o.message.content == a.choices[0].message.content
    assert o.prompt_eval_count == a.usage.prompt_tokens
    assert o.eval_count == a.usage.completion_tokens


def test_options_are_used(server, images):
    msgs = [{"role": "user", "content": "What moves?", "images": images[:1]}]
    short = client(server).chat(model=tag(server), messages=msgs, stream=False,
                                options={"temperature": 0, "num_predict": 2})
    assert short.eval_count <= 2
    if short.eval_count == 2:
        assert short.done_reason == "length"
    seeded = [client(server).chat(model=tag(server), messages=msgs, stream=False,
                                  options={"temperature": 0.9, "seed": 5, "num_predict": 16}).message.content
              for _ in range(2)]
    assert seeded[0] == seeded[1]


def test_list_show_version(server):
    models = client(server).list().models
    assert len(models) == 1
    m = models[0]
    assert m.model == tag(server)
    assert m.size > 0 and len(m.digest) == 64
    assert m.details.family == "pixtral"
    show = client(server).show(tag(server))
    assert "vision" in show.capabilities and "completion" in show.capabilities
    # The context length agrees with /v1/models' max_model_len.
    max_len = httpx.get(server.url + "/v1/models").json()["data"][0]["max_model_len"]
    assert show.modelinfo["pixtral.context_length"] == max_len
    assert client(server).show(server.model).capabilities == show.capabilities
    v = httpx.get(server.url + "/api/version").json()
    assert v["version"] and v["version"][0].isdigit()


def test_load_only(server):
    r = httpx.post(server.url + "/api/generate", json={"model": tag(server)}, timeout=10).json()
    assert r["done"] is True and r["done_reason"] == "load"
    r = httpx.post(server.url + "/api/chat", json={"model": tag(server), "messages": []}, timeout=10).json()
    assert r["done"] is True and r["done_reason"] == "load"


def test_errors(server, images):
    with pytest.raises(ollama.ResponseError) as e:
        client(server).chat(model="llava:7b", messages=[{"role": "user", "content": "Hi"}], stream=False)
    assert e.value.status_code == 404
    with pytest.raises(ollama.ResponseError) as e:
        client(server).show("llava:7b")
    assert e.value.status_code == 404
    # Not an image (known before a stream starts: a 400 either way).
    for stream in (False, True):
        with pytest.raises(ollama.ResponseError) as e:
            r = client(server).chat(model=tag(server), stream=stream,
                                    messages=[{"role": "user", "content": "Hi", "images": [b"not an image at all"]}])
            if stream:
                list(r)
        assert e.value.status_code == 400
        assert "messages[0].images[0]" in e.value.error
    with pytest.raises(ollama.ResponseError) as e:
        client(server).chat(model=tag(server), format="json", messages=[{"role": "user", "content": "Hi"}],
                            stream=False)
    assert e.value.status_code == 400 and "format" in e.value.error
    # Malformed bodies: {"error": "..."} with 400.
    r = httpx.post(server.url + "/api/chat", content=b"{not json", timeout=10)
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]
    r = httpx.post(server.url + "/api/generate", json={"model": tag(server), "prompt": 5}, timeout=10)
    assert r.status_code == 400 and r.json()["error"].startswith("prompt:")
    r = httpx.get(server.url + "/api/nothing-here", timeout=10)
    assert r.status_code == 404 and isinstance(r.json()["error"], str)
