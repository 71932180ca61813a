# Tessera's installer for Windows: the same steps as install.sh (read it for the why of each).
# NOT RUN ON WINDOWS YET: written beside install.sh, whose steps are tested on Linux; see installers/README.md.
#
#   powershell -ExecutionPolicy Bypass -File installers\install.ps1 [-Prefix DIR] [-Source DIR] [-Python EXE]
#   ... -Uninstall      removes exactly what it made (listed in PREFIX\manifest.txt); the library stays
#
# The PyTorch build: desktop\torch_build.py reads nvidia-smi (the driver's CUDA) and picks the CUDA
# build and its wheel index (PyPI's Windows wheel is CPU only); TESSERA_TORCH_INDEX=pypi|URL overrides.
param(
    [string]$Prefix = (Join-Path $env:LOCALAPPDATA "Tessera-app"),
    [string]$Source = "",
    [string]$Python = "",
    [switch]$Uninstall
)
$ErrorActionPreference = "Stop"
function Say($text) { Write-Host "tessera-install: $text" }
function Die($text) { Write-Host "tessera-install: $text" -ForegroundColor Red; exit 1 }

$Shortcut = Join-Path ([Environment]::GetFolderPath("Programs")) "Tessera.lnk"
$Manifest = Join-Path $Prefix "manifest.txt"

if ($Uninstall) {
    if (-not (Test-Path (Join-Path $Prefix "install.conf"))) { Die "$Prefix is not a Tessera install" }
    if (Test-Path $Manifest) {
        foreach ($entry in Get-Content $Manifest) {
            if ($entry -and (Test-Path $entry)) { Remove-Item -Recurse -Force $entry }
        }
    }
    Remove-Item -Recurse -Force $Prefix
    Say "Tessera is removed from $Prefix; your library and settings stay in $env:LOCALAPPDATA\Tessera"
    exit 0
}

New-Item -ItemType Directory -Force -Path $Prefix | Out-Null
$Conf = Join-Path $Prefix "install.conf"
if (-not $Source -and (Test-Path $Conf)) {
    $Source = ((Get-Content $Conf | Where-Object { $_ -like "source=*" }) -replace "^source=", "")
}
if (-not $Source) { $Source = Split-Path -Parent $PSScriptRoot }

# 1. Python 3.11+ (the py launcher, or python on PATH) and uv
function PythonOk($exe) {
    try { & $exe -c "import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)" 2>$null; return $LASTEXITCODE -eq 0 }
    catch { return $false }
}
if (-not $Python) {
    foreach ($candidate in @("py -3.13", "py -3.12", "py -3.11", "python")) {
        $parts = $candidate.Split(" ")
        try {
            $found = & $parts[0] $parts[1..9] -c "import sys; print(sys.executable)" 2>$null
            if ($LASTEXITCODE -eq 0 -and (PythonOk $found)) { $Python = $found; break }
        } catch { }
    }
}
$Uv = (Get-Command uv -ErrorAction SilentlyContinue).Source
if (-not $Uv) {
    $Tools = Join-Path $Prefix "tools"
    $Uv = Join-Path $Tools "Scripts\uv.exe"
    if (-not (Test-Path $Uv)) {
        $Boot = if ($Python) { $Python } else { (Get-Command python -ErrorAction SilentlyContinue).Source }
        if (-not $Boot) { Die "no Python found: install Python 3.11 or newer from python.org, then run this again" }
        Say "installing uv into $Tools"
        & $Boot -m venv $Tools; & (Join-Path $Tools "Scripts\python.exe") -m pip install --quiet --no-cache-dir uv
        if ($LASTEXITCODE -ne 0) { Die "could not install uv from PyPI: check the network, then run this again" }
    }
}
$env:UV_SYSTEM_CERTS = if ($env:UV_SYSTEM_CERTS) { $env:UV_SYSTEM_CERTS } else { "1" }
if (-not $Python) {
    Say "no Python 3.11 or newer here: uv installs one for Tessera"
    & $Uv python install 3.11; $Python = (& $Uv python find 3.11)
}

# 2. the source and the environment
$Src = Join-Path $Prefix "src"
if (-not (Test-Path (Join-Path $Source "pyproject.toml"))) { Die "$Source is not Tessera's source (no pyproject.toml there)" }
if (Test-Path $Src) { Remove-Item -Recurse -Force $Src }
robocopy $Source $Src /E /XD .git .venv mutants build dist __pycache__ /NFL /NDL /NJH /NJS /NP | Out-Null
$Venv = Join-Path $Prefix "venv"
if (-not (Test-Path (Join-Path $Venv "Scripts\python.exe"))) { & $Uv venv --quiet --python $Python $Venv }
$Vpy = Join-Path $Venv "Scripts\python.exe"

# 3. PyTorch for this machine
$Choice = (& $Python (Join-Path $Src "desktop\torch_build.py")).Split("`t")
$Tag, $Index = $Choice[0], $Choice[1]
if ($env:TESSERA_TORCH_INDEX -eq "pypi") { $Tag = "pypi"; $Index = "" }
elseif ($env:TESSERA_TORCH_INDEX) { $Tag = "custom"; $Index = $env:TESSERA_TORCH_INDEX }
Say "PyTorch: the $Tag build ($($Choice[2]))"
$Pins = Select-String -Path (Join-Path $Src "pyproject.toml") -Pattern '"(torch|torchvision)==[^"]+"' -AllMatches |
        ForEach-Object { $_.Matches } | ForEach-Object { $_.Value.Trim('"') }
if ($Index) {
    & $Uv pip install --quiet --python $Vpy --extra-index-url $Index --index-strategy first-index @Pins
    if ($LASTEXITCODE -ne 0) { Die "could not install PyTorch from $Index (TESSERA_TORCH_INDEX=pypi uses PyPI's own)" }
}
Say "installing Tessera and its libraries (a few minutes the first time)"
& $Uv pip install --quiet --python $Vpy -e $Src
if ($LASTEXITCODE -ne 0) { Die "the install failed; the messages above say why" }

# 4. commands, the Start-menu shortcut, the manifest
$Bin = Join-Path $Prefix "bin"
New-Item -ItemType Directory -Force -Path $Bin | Out-Null
Set-Content (Join-Path $Bin "tessera.cmd") "@`"$Venv\Scripts\tessera.exe`" %*"
Set-Content (Join-Path $Bin "tessera-update.cmd") "@powershell -ExecutionPolicy Bypass -File `"$Prefix\install.ps1`" -Prefix `"$Prefix`""
Set-Content (Join-Path $Bin "tessera-uninstall.cmd") "@powershell -ExecutionPolicy Bypass -File `"$Prefix\install.ps1`" -Prefix `"$Prefix`" -Uninstall"
Copy-Item (Join-Path $Src "installers\install.ps1") (Join-Path $Prefix "install.ps1.new") -Force
Move-Item -Force (Join-Path $Prefix "install.ps1.new") (Join-Path $Prefix "install.ps1")
$Shell = New-Object -ComObject WScript.Shell
$Link = $Shell.CreateShortcut($Shortcut)
$Link.TargetPath = Join-Path $Venv "Scripts\tessera-studio.exe"
$Link.WorkingDirectory = $env:USERPROFILE
$Link.Description = "Tessera: seamless pattern studio"
$Link.Save()
Set-Content $Manifest $Shortcut
Set-Content $Conf @("source=$Source", "python=$Python", "torch=$Tag $Index", "installed=$((Get-Date).ToUniversalTime().ToString('s'))Z")
$Version = & (Join-Path $Venv "Scripts\tessera.exe") --version
if ($LASTEXITCODE -ne 0) { Die "installed, but it does not start: $Version" }
Say "done: $Version in $Prefix. Start it from the Start menu (Tessera); $Bin\tessera.cmd doctor checks this machine"
