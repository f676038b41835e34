"""The embedding HTTP API of ``ese-serve``: OpenAI ``/v1/embeddings``, TEI ``/embed``, health and
Prometheus metrics, over the standard library's HTTP server and the runtime alone (no PyTriton).

    from ese.serving.api.http_server import ApiServer
    from ese.serving.api.options import ApiOptions

    with ApiServer(Embedder("exports/minilm"), ApiOptions(api_port=8080)) as api:
        print(api.url)  # serves until the block ends

Concurrent requests share one ``Embedder.encode`` call (:mod:`.batcher`), each at its own width.
"""
