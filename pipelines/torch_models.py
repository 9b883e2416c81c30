"""The torch modules behind ``torch.mlp`` and ``torch.resnet`` (imports torch: load lazily)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "selu": nn.SELU}


class MLP(nn.Module):
    """A chain of ``Linear -> [BatchNorm] -> activation -> [Dropout]`` layers and a linear head.

    With ``skip`` every layer adds its input back; when the width changes, through a bias-free
    linear projection (identity when it does not).
    """

    def __init__(
        self,
        d_in: int,
        d_out: int,
        widths: Sequence[int],
        activation: str = "relu",
        dropout: float = 0.0,
        batch_norm: bool = False,
        skip: bool = False,
    ) -> None:
        super().__init__()
        self.skip = skip
        self.layers = nn.ModuleList()
        self.projections = nn.ModuleList()
        d_prev = d_in
        for width in widths:
            parts: list[nn.Module] = [nn.Linear(d_prev, width)]
            if batch_norm:
                parts.append(nn.BatchNorm1d(width))
            parts.append(ACTIVATIONS[activation]())
            if dropout > 0:
                parts.append(nn.Dropout(dropout))
            self.layers.append(nn.Sequential(*parts))
            if skip:
                self.projections.append(
                    nn.Identity() if d_prev == width else nn.Linear(d_prev, width, bias=False)
                )
            d_prev = width
        self.head = nn.Linear(d_prev, d_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x) + self.projections[i](x) if self.skip else layer(x)
        return self.head(x)


class ResNetBlock(nn.Module):
    def __init__(
        self,
        d_main: int,
        d_hidden: int,
        norm: str,
        activation: str,
        hidden_dropout: float,
        residual_dropout: float,
    ) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _norm(norm, d_main),
            nn.Linear(d_main, d_hidden),
            ACTIVATIONS[activation](),
            nn.Dropout(hidden_dropout),
            nn.Linear(d_hidden, d_main),
            nn.Dropout(residual_dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class TabularResNet(nn.Module):
    """Gorishniy et al. (2021): Linear stem, pre-norm residual blocks,
    norm-activation-Linear head.
    """

    def __init__(
        self,
        d_in: int,
        d_out: int,
        n_blocks: int,
        d_main: int,
        d_hidden_factor: float,
        hidden_dropout: float,
        residual_dropout: float,
        normalization: str = "batch_norm",
        activation: str = "relu",
    ) -> None:
        super().__init__()
        d_hidden = int(d_main * d_hidden_factor)
        self.stem = nn.Linear(d_in, d_main)
        self.blocks = nn.Sequential(
            *[
                ResNetBlock(
                    d_main, d_hidden, normalization, activation, hidden_dropout, residual_dropout
                )
                for _ in range(n_blocks)
            ]
        )
        self.head = nn.Sequential(
            _norm(normalization, d_main), ACTIVATIONS[activation](), nn.Linear(d_main, d_out)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))


def _norm(kind: str, d: int) -> nn.Module:
    return nn.BatchNorm1d(d) if kind == "batch_norm" else nn.LayerNorm(d)


def mlp_widths(config: Mapping[str, Any]) -> list[int]:
    return [int(config[f"units_{i}"]) for i in range(1, int(config["n_layers"]) + 1)]


def make_module(architecture: str, config: Mapping[str, Any], d_in: int, d_out: int) -> nn.Module:
    """The network for a canonical ``torch.mlp`` / ``torch.resnet`` config (optimiser keys
    ignored).
    """
    if architecture == "mlp":
        return MLP(
            d_in,
            d_out,
            mlp_widths(config),
            config["activation"],
            float(config["dropout"]),
            bool(config["batch_norm"]),
            bool(config["skip_connections"]),
        )
    if architecture == "resnet":
        return TabularResNet(
            d_in,
            d_out,
            int(config["n_blocks"]),
            int(config["d_main"]),
            float(config["d_hidden_factor"]),
            float(config["hidden_dropout"]),
            float(config["residual_dropout"]),
            config["normalization"],
            config["activation"],
        )
    raise ValueError(f"unknown architecture {architecture!r}")
