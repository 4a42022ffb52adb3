# Two commands on a fresh Debian machine: `make demo` and `make test`.
# Both install what they need (Debian packages, a venv) and can be run again safely.

PYTHON  ?= python3
VENV    ?= .venv
PY      := $(VENV)/bin/python
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Dovecot + openssl: the local mail lab; postfix: the lab's queueing submission server (its own
# config dir and ports; the system's Postfix is left unconfigured, so it runs nothing);
# systemd: systemd-analyze for the unit tests. Debian allows one mail server per machine, so
# postfix is not installed where another one is (it would remove it): the lab's `postfix`
# flavour is then skipped (a failure under CI=true).
APT_PACKAGES := dovecot-imapd dovecot-lmtpd postfix openssl systemd ca-certificates python3-venv

.PHONY: setup system venv test unit corpus lab lint format typecheck ci demo bench check clean systemd-test

setup: system venv

system:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	case "$$missing " in *" postfix "*) \
	  if [ -e /usr/sbin/sendmail ]; then \
	    echo "not installing postfix: this machine has another mail server (/usr/sbin/sendmail)"; \
	    missing=$$(echo " $$missing " | sed 's/ postfix / /'); \
	  else \
	    echo "postfix postfix/main_mailer_type select No configuration" | $(SUDO) debconf-set-selections; \
	  fi;; \
	esac; \
	if [ -n "$$(echo $$missing)" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,dev]'
	@touch $@

test: setup
	$(PY) -m pytest -q

# The fast half: no servers, no root.
unit: venv
	$(PY) -m pytest -q tests/unit

# Real-world mail from ../shared/corpus, read in place (no servers either).
corpus: venv
	$(PY) -m pytest -q tests/corpus

lab: setup
	$(PY) -m pytest -q tests/lab

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: venv
	$(VENV)/bin/mypy daemon

ci: lint typecheck test

demo: setup
	$(PY) -m daemon.lab.demo

bench: setup
	$(PY) bench/run_all.py

# The units booted under a real systemd (a minimal Debian tree in systemd-nspawn); not part of
# `make test`: it needs root and a Debian mirror. The tree is cached in
# FEEDBACKD_SYSTEMD_CACHE (default /var/cache/feedbackd-systemd-test).
systemd-test: setup
	$(SUDO) bash tests/systemd/container-test.sh $(PY)

check: venv
	$(VENV)/bin/feedbackd check

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache build dist
