"""HuFi stand-ins: the campaign launcher and the recording oracle (Hu-Fi/hufi), on loopback.

Built from HuFi's own NestJS sources (controllers, DTOs, services, error filters); each
module's docstring cites what it follows. Tests and demos only: never installed in production.
"""

from standins.hufi.launcher import CampaignLauncherEmulator, campaign_payload
from standins.hufi.oracle import ChainCampaign, RecordingOracleEmulator

__all__ = [
    "CampaignLauncherEmulator",
    "ChainCampaign",
    "RecordingOracleEmulator",
    "campaign_payload",
]
