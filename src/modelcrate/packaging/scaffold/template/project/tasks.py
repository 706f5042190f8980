"""Development tasks: `invoke test`, `invoke lint`, `invoke build`."""

from invoke import task


@task
def test(c):
    """Run the tests."""
    c.run("pytest", pty=True)


@task
def lint(c):
    """Check style with ruff."""
    c.run("ruff check . && ruff format --check .", pty=True)


@task
def build(c):
    """Build the sdist and wheel into dist/."""
    c.run("python -m build", pty=True)
