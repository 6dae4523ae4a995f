import unittest
from app import service

class ServiceTest(unittest.TestCase):
    def test_simulate_runs(self):
        self.assertEqual(service.run('SIM'), 'ok:SIM')
    def test_live_refused_when_disabled(self):
        with self.assertRaises(PermissionError):
            service.run('LIVE')
    def test_switch_defaults_off(self):
        self.assertFalse(service.execution_enabled('/nonexistent'))
