from mabench.cli import app

app(prog_name="mabench")
