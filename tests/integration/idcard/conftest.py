import pytest

from drivers.idcard import Reader
from drivers.idcard.simulator import ReaderSimulator


@pytest.fixture
def sim():
    simulator = ReaderSimulator()
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def reader(sim):
    # Short timeouts keep failure tests fast; the protocol logic is the same at any timeout.
    with Reader(sim.url, 115200, timeout=0.3, probe_timeout=0.15) as r:
        yield r
