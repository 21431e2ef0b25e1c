"""Serving models over REST, batch prediction and Docker build contexts.

``flowtrack models serve`` (`server.serve`) runs the FastAPI app of `app.create_app` under
uvicorn; ``flowtrack models predict`` (`batch.predict_file`) reads the same formats from a
file; ``flowtrack models dockerfile`` (`dockerfile.write_context`) writes a build context whose
entrypoint is ``flowtrack models serve``. See docs/serving.md.
"""
