from desktop.hardware import package_version, probe_devices_subprocess


def test_probe_in_a_subprocess_reports_torch_and_cuda():
    import torch

    info = probe_devices_subprocess(timeout=120)
    assert info["torch"] == package_version("torch")
    assert info["cuda"] is torch.cuda.is_available()


def test_probe_failure_is_reported_not_raised(monkeypatch):
    monkeypatch.setattr("desktop.hardware.sys.executable", "/nonexistent/python")
    info = probe_devices_subprocess(timeout=5)
    assert info["cuda"] is False and "probe failed" in info["error"]
