"""`framescribe serve` with OpenAI's official Python client (openai, pinned in requirements.txt),
as Frigate, VSS, Open WebUI and LangChain call it: images, streaming, logprobs, errors, usage."""

import base64

import httpx
import openai
import pytest

from conftest import ServeProcess, data_uri, encode, shape_image


def client(server, api_key="unused"):
    return openai.OpenAI(base_url=server.url + "/v1", api_key=api_key, max_retries=0, timeout=60)


def png_uri(png):
    return "data:image/png;base64," + base64.b64encode(png).decode()


def user(text, pngs=(), text_first=True):
    parts = [{"type": "image_url", "image_url": {"url": png_uri(p)}} for p in pngs]
    t = [{"type": "text", "text": text}]
    return [{"role": "user", "content": (t + parts) if text_first else (parts + t)}]


def ask(server, messages, **kw):
    kw.setdefault("max_tokens", 24)
    kw.setdefault("temperature", 0)
    return client(server).chat.completions.create(model=server.model, messages=messages, **kw)


def test_models_lists_the_served_model(server):
    models = client(server).models.list()
    assert [m.id for m in models.data] == [server.model]
    extra = models.data[0].model_extra
    assert extra["max_model_len"] == 2048  # the demo model's context


def test_one_image(server, images):
    r = ask(server, user("What moves?", images[:1]))
    c = r.choices[0]
    assert r.object == "chat.completion"
    assert r.model == server.model
    assert c.message.role == "assistant"
    assert isinstance(c.message.content, str) and c.message.content
    assert c.finish_reason in ("stop", "length")
    u = r.usage
    assert u.total_tokens == u.prompt_tokens + u.completion_tokens
    assert 1 <= u.completion_tokens <= 24
    if c.finish_reason == "length":
        assert u.completion_tokens == 24


def test_prompt_tokens_grow_with_each_image(server, images):
    counts = [ask(server, user("Describe.", images[:k]), max_tokens=1).usage.prompt_tokens
              for k in range(4)]
    assert counts[0] < counts[1] < counts[2] < counts[3], counts
    # Same-size images cost the same.
    assert counts[2] - counts[1] == counts[1] - counts[0] == counts[3] - counts[2], counts


def test_several_images_in_order_matter(server, images):
    a = ask(server, user("Describe.", [images[0], images[1]]), max_tokens=32)
    b = ask(server, user("Describe.", [images[0], images[1]]), max_tokens=32)
    assert a.choices[0].message.content == b.choices[0].message.content  # greedy: repeatable
    assert a.usage == b.usage


def test_streaming_equals_the_answer(server, images):
    msgs = user("What moves?", images[:2])
    whole = ask(server, msgs, max_tokens=32)
    stream = ask(server, msgs, max_tokens=32, stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(ch.object == "chat.completion.chunk" for ch in chunks)
    assert len({ch.id for ch in chunks}) == 1
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == whole.choices[0].message.content
    finishes = [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason]
    assert finishes == [whole.choices[0].finish_reason]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.prompt_tokens == whole.usage.prompt_tokens
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens


def test_stream_ends_with_done(server, images):
    body = {"model": server.model, "messages": user("What moves?", images[:1]), "max_tokens": 8,
            "stream": True}
    with httpx.stream("POST", server.url + "/v1/chat/completions", json=body, timeout=60) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [line for line in r.iter_lines() if line]
    assert all(e.startswith("data: ") for e in events), events
    assert events[-1] == "data: [DONE]"
    assert events.count("data: [DONE]") == 1


def test_logprobs(server, images):
    r = ask(server, user("What moves?", images[:1]), max_tokens=16, logprobs=True, top_logprobs=3)
    c = r.choices[0]
    content = c.logprobs.content
    assert len(content) == r.usage.completion_tokens
    for t in content:
        assert t.logprob <= 0
        assert len(t.top_logprobs) == 3
        tops = [x.logprob for x in t.top_logprobs]
        assert tops == sorted(tops, reverse=True)
        assert all(x <= 0 for x in tops)
        assert tops[0] >= t.logprob - 1e-9
        # Greedy: the chosen token is the most likely one.
        assert t.token == t.top_logprobs[0].token
        assert t.bytes is not None
    # The tokens' bytes are the answer (no stop string given; an end-of-sequence token is not
    # part of the content).
    joined = b"".join(bytes(t.bytes) for t in content).decode("utf-8", "replace")
    assert joined == c.message.content
    # Streamed logprobs are the same.
    s = ask(server, user("What moves?", images[:1]), max_tokens=16, logprobs=True, top_logprobs=3,
            stream=True)
    streamed = [t for ch in s if ch.choices and ch.choices[0].logprobs for t in ch.choices[0].logprobs.content]
    assert [t.token for t in streamed] == [t.token for t in content]
    assert [round(t.logprob, 9) for t in streamed] == [round(t.logprob, 9) for t in content]


def test_bad_image_is_a_bad_request(server):
    msgs = [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAAAAAAAAAA"}}]}]
    with pytest.raises(openai.BadRequestError) as e:
        ask(server, msgs)
    assert "messages[0].content[1]" in str(e.value)
    with pytest.raises(openai.BadRequestError):
        ask(server, msgs, stream=True)  # known before the stream starts: a status, not an event


def test_bad_requests(server, images):
    with pytest.raises(openai.BadRequestError, match="n must be 1"):
        ask(server, user("Hi"), n=2)
    with pytest.raises(openai.BadRequestError, match="top_logprobs"):
        ask(server, user("Hi"), top_logprobs=2)
    with pytest.raises(openai.BadRequestError):
        ask(server, [{"role": "user", "content": [{"type": "audio", "audio": "x"}]}])


def test_unknown_model_is_not_found(server):
    with pytest.raises(openai.NotFoundError):
        client(server).chat.completions.create(model="gpt-4o", messages=user("Hi"), max_tokens=4)


def test_api_key(binary, model_dir, images):
    with ServeProcess(binary, ["--model", model_dir, "--api-key", "s3cret"]) as s:
        with pytest.raises(openai.AuthenticationError):
            client(s, "wrong").chat.completions.create(model=s.model, messages=user("Hi"), max_tokens=2)
        with pytest.raises(openai.AuthenticationError):
            client(s, "wrong").models.list()
        r = client(s, "s3cret").chat.completions.create(
            model=s.model, messages=user("Hi", images[:1]), max_tokens=2)
        assert r.usage.completion_tokens >= 1
        assert httpx.get(s.url + "/health").status_code == 200  # public
        assert "s3cret" not in s.log()


def test_frigate_shaped_request(server):
    # Frigate's openai provider: one user message, a text part with the prompt, then up to 10
    # JPEG crops (quality 100) as data URIs with detail "low".
    crops = [shape_image("circle" if k % 2 else "square", (20 * k, 80, 200), size=(48, 64), offset=k % 3)
             for k in range(10)]
    content = [{"type": "text", "text": "Describe the object in these images. Be concise."}]
    content += [{"type": "image_url", "image_url": {"url": data_uri(c, "JPEG", quality=100), "detail": "low"}}
                for c in crops]
    r = client(server).chat.completions.create(model=server.model, messages=[{"role": "user", "content": content}],
                                               timeout=120)
    assert r.choices[0].finish_reason in ("stop", "length")
    assert r.usage.prompt_tokens > 10 * 12  # ten images of 3x4 patches, at least
    assert r.usage.completion_tokens >= 1


def test_vss_shaped_request(server):
    # NVIDIA VSS (openai-compat): N frames (detail auto), then one text part with their
    # timestamps and the prompt; max_tokens, temperature 0.2, top_p 1, seed 1; not streamed.
    frames = [shape_image("circle", (30, 60, 220), offset=2 * k) for k in range(8)]
    content = [{"type": "image_url", "image_url": {"url": data_uri(f, "JPEG", quality=90), "detail": "auto"}}
               for f in frames]
    stamps = " ".join(f"{k * 0.5:.1f}" for k in range(8))
    content.append({"type": "text", "text": f"These are images sampled from a video at timestamps in seconds : "
                                            f"{stamps} . Describe what happens."})
    kw = dict(model=server.model, messages=[{"role": "user", "content": content}], max_tokens=1024,
              temperature=0.2, top_p=1, seed=1, timeout=120)
    r = client(server).chat.completions.create(**kw)
    again = client(server).chat.completions.create(**kw)
    assert r.choices[0].finish_reason in ("stop", "length")
    assert r.choices[0].message.content == again.choices[0].message.content  # seeded sampling
    assert r.usage.prompt_tokens > 8 * 16


def test_short_image_url_form_and_system_message(server, images):
    msgs = [{"role": "system", "content": "You describe shapes."},
            {"role": "user", "content": [{"type": "image_url", "image_url": png_uri(images[0])},
                                         {"type": "text", "text": "What is it?"}]}]
    r = ask(server, msgs)
    assert r.usage.completion_tokens >= 1
