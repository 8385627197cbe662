; Inno Setup 6 script for the Kezhan terminal on Windows station PCs.
;
; Compile on Windows after `bash build/build.sh` (or its PowerShell equivalent) has made dist\kezhan\:
;   iscc /DAppVersion=0.1.0 build\windows\kezhan.iss        -> dist\kezhan-setup-0.1.0.exe
;
; Per machine (Program Files, admin rights), one constant AppId so every later version upgrades the
; same installation in place. The station's data lives machine-wide in ProgramData\kezhan and is
; never removed by the uninstaller. A running counter window is found by the named mutex it holds
; (app/running.py) and Setup asks to close it first; files still in use are closed through the
; Restart Manager (CloseApplications).
;
; Silent install (roll-out to many PCs), documented in docs/install.md:
;   kezhan-setup-0.1.0.exe /VERYSILENT /SUPPRESSMSGBOXES /NORESTART /CLOSEAPPLICATIONS /TASKS="autostart"
;   /DIR="D:\Kezhan" to choose the folder, /LOG="C:\kezhan-setup.log" for a log; uninstall with
;   "C:\Program Files\Kezhan\unins000.exe" /VERYSILENT /SUPPRESSMSGBOXES

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
; Where the PyInstaller folder and the optional demo server part are (override with /DDistDir=...).
#ifndef DistDir
  #define DistDir "..\..\dist"
#endif
#define DataDir "{commonappdata}\kezhan"

[Setup]
; Never change this id: it is how Setup recognises an installed Kezhan to upgrade.
AppId={{B0F5B791-DD47-49B9-BBE1-30E6548BEDAD}
AppName=Kezhan 客站
AppVersion={#AppVersion}
AppVerName=Kezhan 客站 {#AppVersion}
AppPublisher=Kezhan
DefaultDirName={autopf}\Kezhan
DefaultGroupName=Kezhan
DisableProgramGroupPage=yes
PrivilegesRequired=admin
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
; The mutex names of app/running.py (tests/build/test_windows_installer.py keeps them equal).
AppMutex=KezhanTerminal,Global\KezhanTerminal
CloseApplications=yes
CloseApplicationsFilter=*.exe,*.dll,*.pyd
RestartApplications=no
SetupIconFile=..\..\resources\icons\kezhan.ico
UninstallDisplayIcon={app}\kezhan-gui.exe
UninstallDisplayName=Kezhan 客站
OutputDir={#DistDir}
OutputBaseFilename=kezhan-setup-{#AppVersion}
Compression=lzma2
SolidCompression=yes
WizardStyle=modern

[Languages]
; Inno Setup ships no Simplified Chinese messages file; the texts below are bilingual instead.
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "autostart"; Description: "Windows 启动时打开售票窗口 / Open the counter window when Windows starts"; Flags: unchecked
Name: "desktopicon"; Description: "桌面快捷方式 / Desktop shortcut"

[Files]
; The whole PyInstaller folder: kezhan.exe (console, the CLI), kezhan-gui.exe (windowed), _internal\.
Source: "{#DistDir}\kezhan\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs
; The optional demo server part, when it was built beside the bundle.
Source: "{#DistDir}\kezhan-demo-server\*"; DestDir: "{app}\demo-server"; Flags: ignoreversion recursesubdirs createallsubdirs skipifsourcedoesntexist

[InstallDelete]
; An upgrade replaces the program's folder whole: nothing of an older bundle lingers in _internal.
Type: filesandordirs; Name: "{app}\_internal"

[Dirs]
; Machine-wide data: every Windows account of the station uses the same terminal. Kept on uninstall.
Name: "{#DataDir}"; Permissions: users-modify; Flags: uninsneveruninstall

[Icons]
Name: "{autoprograms}\Kezhan 客站"; Filename: "{app}\kezhan-gui.exe"
Name: "{autodesktop}\Kezhan 客站"; Filename: "{app}\kezhan-gui.exe"; Tasks: desktopicon
Name: "{commonstartup}\Kezhan 客站"; Filename: "{app}\kezhan-gui.exe"; Tasks: autostart

[Run]
; An upgrade migrates the station's database now; `kezhan db migrate` backs it up first
; (ProgramData\kezhan\backups). The window would do the same on its next start.
Filename: "{cmd}"; Parameters: "/c set ""KEZHAN_HOME={#DataDir}"" && ""{app}\kezhan.exe"" db migrate"; \
  StatusMsg: "正在升级数据库（先备份）/ Migrating the station database (backed up first)…"; \
  Flags: runhidden waituntilterminated; Check: HasStationData
Filename: "{app}\kezhan-gui.exe"; Description: "打开客站 / Open Kezhan"; Flags: postinstall nowait skipifsilent

[Code]
function HasStationData: Boolean;
begin
  Result := FileExists(ExpandConstant('{#DataDir}\kezhan.sqlite3'))
    or FileExists(ExpandConstant('{#DataDir}\kezhan.toml'));
end;
