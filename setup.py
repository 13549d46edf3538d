"""Distribution ``momentsense``: one import package, ``momentsense``, whose subpackages live in the
repository's folders: ``momentsense.sdk`` (sdk/), ``momentsense.edge_models`` (edge_models/),
``momentsense.trainer`` (trainer/) and ``momentsense.quantize`` (quantize/). Nothing else is
installed at the top level of site-packages.

The base install is what a phone needs; everything heavier is an extra:
``pip install -e .[train]``, ``.[app]``, ``.[server]``, ``.[dev]`` or ``.[all]``.
"""

from setuptools import find_packages, setup

BASE = [
    "numpy>=1.24",
    "plyer>=2.1",
    "requests>=2.31",
    "ai-edge-litert>=1.2; platform_machine=='x86_64' or platform_machine=='aarch64' or platform_machine=='arm64'",
]
EXTRAS = {
    # tf-keras depends on the full `tensorflow` package, so naming tensorflow-cpu too would install
    # TensorFlow twice; `tensorflow` on Linux is CPU-only unless its [and-cuda] extra is asked for.
    "train": [
        "scipy>=1.10",  # the trainer's and the tests' reference for the SDK's numpy filters; not on the phone
        "tensorflow>=2.16,<2.22",
        "tf-keras>=2.16,<2.22",
        "tensorflow-model-optimization>=0.8",
        "h5py>=3.9",
        "scikit-learn>=1.3",
        "matplotlib>=3.7",
        "tqdm>=4.66",
    ],
    # What `momentsense demo` needs beyond the phone's base install: progress bars, the HTML
    # report's plots, and the sync server it runs in-process on loopback.
    "demo": ["tqdm>=4.66", "h5py>=3.9", "matplotlib>=3.7", "fastapi>=0.110", "uvicorn>=0.29", "sqlalchemy>=2.0"],
    "app": ["kivy>=2.3.1,<2.4"],
    # The server side: FastAPI app, SQLAlchemy (SQLite by default, PostgreSQL through psycopg),
    # uvicorn to serve it, httpx for FastAPI's test client.
    "server": ["fastapi>=0.110", "uvicorn>=0.29", "sqlalchemy>=2.0", "httpx>=0.27", "psycopg[binary]>=3.1"],
    # trackintel: the reference stay-point implementation our GPS timeline is compared with (a test
    # and `momentsense eval places`; never imported by the runtime). py-spy: `momentsense profile`.
    # schemathesis: fuzzes the server's OpenAPI spec. cryptography: the Ed25519 OTA signature test.
    "dev": ["pytest>=8", "hypothesis>=6.100", "scipy>=1.10", "h5py>=3.9", "tqdm>=4.66", "trackintel>=1.3", "py-spy>=0.3",
            "schemathesis>=4.0", "cryptography>=42"],
}
# The repository folders that install as subpackages of ``momentsense``.
SUBPACKAGES = ("sdk", "edge_models", "trainer", "quantize")

EXTRAS["all"] = sorted({req for reqs in EXTRAS.values() for req in reqs})

setup(
    name="momentsense",
    version="0.1.0",
    description="Mobile-edge behaviour SDK: transport modes, places, moments and segments on the phone.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=["momentsense"] + [f"momentsense.{name}" for name in find_packages(include=[p for top in SUBPACKAGES for p in (top, f"{top}.*")])],
    package_dir={"momentsense": "momentsense", **{f"momentsense.{top}": top for top in SUBPACKAGES}},
    package_data={"momentsense.edge_models": ["artifacts/*.tflite", "artifacts/*.json", "artifacts/*.weights.h5"],
                  "momentsense.trainer.population": ["*.json"]},
    include_package_data=True,
    install_requires=BASE,
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["momentsense=momentsense.trainer.cli:main"]},
    classifiers=["License :: OSI Approved :: Apache Software License", "Programming Language :: Python :: 3"],
)
