"""TURN REST credentials and the ICE list of a welcome (SPEC section 14.7)."""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac

from cosession.calls.ice import ice_servers, turn_credentials
from cosession.cli import _serve_parser, settings_from_args
from cosession.config import Settings, from_env
from protocol.messages import IceServer


def test_turn_credentials_follow_the_turn_rest_convention() -> None:
    username, credential = turn_credentials("s3cret", "m_ana", 3600, now=1_000_000.7)
    assert username == "1003600:m_ana"
    expected = base64.b64encode(hmac.new(b"s3cret", b"1003600:m_ana", hashlib.sha1).digest()).decode()
    assert credential == expected


def test_ice_servers_lists_stun_then_turn_with_credentials() -> None:
    settings = Settings(
        stun_urls=("stun:a:3478",), turn_urls=("turn:a:3478", "turns:a:5349"), turn_secret="k", turn_ttl=60
    )
    stun, turn = ice_servers(settings, "m_bo", now=100.0)
    assert stun == IceServer(urls=["stun:a:3478"])
    assert turn.urls == ["turn:a:3478", "turns:a:5349"] and turn.username == "160:m_bo"
    assert turn.credential == turn_credentials("k", "m_bo", 60, now=100.0)[1]


def test_turn_without_a_secret_is_left_out() -> None:
    assert ice_servers(Settings(turn_urls=("turn:a:3478",)), "m") == []
    assert ice_servers(Settings(), "m") == []


def test_call_settings_from_flags_and_environment() -> None:
    parser = argparse.ArgumentParser()
    _serve_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["serve", "--stun-url", "stun:x", "--turn-url", "turn:x", "--turn-url", "turn:y", "--turn-secret", "z"]
    )
    settings = settings_from_args(args)
    assert settings.stun_urls == ("stun:x",) and settings.turn_urls == ("turn:x", "turn:y")
    env = from_env(Settings(), {"COSESSION_TURN_URLS": "turn:a, turn:b", "COSESSION_CALL_MESH_MAX": "3"})
    assert env.turn_urls == ("turn:a", "turn:b") and env.call_mesh_max == 3
