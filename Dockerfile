# A build environment matching AWS Lambda: AWS's own Python base image, so the interpreter,
# glibc and architecture are Lambda's. `lambundle bundle --docker` runs its sdist builds
# (pip wheel --require-hashes --build-constraint, the locks mounted at /lock) and its
# bytecode compilation (the sources mounted at /src) in this image, writing to /out, as the
# calling user.
#   docker build --build-arg PYTHON=3.12 --platform linux/arm64 -t lambundle-build:3.12-arm64 .
ARG PYTHON=3.12
FROM public.ecr.aws/lambda/python:${PYTHON}

# Compilers for sdists with C extensions; the package manager differs between the AL2
# (3.10, 3.11: yum) and AL2023 (3.12+: dnf) images. The compiler comes with the base
# image's release, so pinning its version here would only break on the next image.
# hadolint ignore=DL3033,DL3041
RUN if command -v dnf >/dev/null 2>&1; then \
        dnf install -y gcc gcc-c++ make && dnf clean all; \
    else \
        yum install -y gcc gcc-c++ make && yum clean all; \
    fi

# pip 26.2 or later: `pip wheel --build-constraint` checks the hashes of an sdist's build
# dependencies, which lambundle locks (bundler/sdists.py); older pips fetch them unchecked.
RUN python -m pip install --no-cache-dir pip==26.3

COPY pyproject.toml README.md /opt/lambundle-src/
COPY bundler /opt/lambundle-src/bundler
COPY runtime /opt/lambundle-src/runtime
COPY strategies /opt/lambundle-src/strategies
RUN python -m pip install --no-cache-dir /opt/lambundle-src

WORKDIR /src
ENTRYPOINT []
CMD ["lambundle", "--help"]
