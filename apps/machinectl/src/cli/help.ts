/**
 * `machinectl --help`: upstream 252's text, word for word, with its highlighting on a terminal.
 * The later additions we accept (-P, --now, -o json for more verbs) are described in the README,
 * so that this text stays byte-identical to upstream's.
 */
import { ANSI_HIGHLIGHT, ANSI_NORMAL, urlifyEnabled, type TerminalInfo } from '../output/terminal.js';

export function helpText(term: TerminalInfo): string {
  const h = term.colors ? ANSI_HIGHLIGHT : '';
  const n = term.colors ? ANSI_NORMAL : '';
  const man = urlifyEnabled(term) ? '\x1b]8;;man:machinectl(1)\x07machinectl(1) man page\x1b]8;;\x07' : 'machinectl(1) man page';
  return `machinectl [OPTIONS...] COMMAND ...

${h}Send control commands to or query the virtual machine and container${n}
${h}registration manager.${n}

Machine Commands:
  list                        List running VMs and containers
  status NAME...              Show VM/container details
  show [NAME...]              Show properties of one or more VMs/containers
  start NAME...               Start container as a service
  login [NAME]                Get a login prompt in a container or on the
                              local host
  shell [[USER@]NAME [COMMAND...]]
                              Invoke a shell (or other command) in a container
                              or on the local host
  enable NAME...              Enable automatic container start at boot
  disable NAME...             Disable automatic container start at boot
  poweroff NAME...            Power off one or more containers
  reboot NAME...              Reboot one or more containers
  terminate NAME...           Terminate one or more VMs/containers
  kill NAME...                Send signal to processes of a VM/container
  copy-to NAME PATH [PATH]    Copy files from the host to a container
  copy-from NAME PATH [PATH]  Copy files from a container to the host
  bind NAME PATH [PATH]       Bind mount a path from the host into a container

Image Commands:
  list-images                 Show available container and VM images
  image-status [NAME...]      Show image details
  show-image [NAME...]        Show properties of image
  clone NAME NAME             Clone an image
  rename NAME NAME            Rename an image
  read-only NAME [BOOL]       Mark or unmark image read-only
  remove NAME...              Remove an image
  set-limit [NAME] BYTES      Set image or pool size limit (disk quota)
  clean                       Remove hidden (or all) images

Image Transfer Commands:
  pull-tar URL [NAME]         Download a TAR container image
  pull-raw URL [NAME]         Download a RAW container or VM image
  import-tar FILE [NAME]      Import a local TAR container image
  import-raw FILE [NAME]      Import a local RAW container or VM image
  import-fs DIRECTORY [NAME]  Import a local directory container image
  export-tar NAME [FILE]      Export a TAR container image locally
  export-raw NAME [FILE]      Export a RAW container or VM image locally
  list-transfers              Show list of downloads in progress
  cancel-transfer             Cancel a download

Options:
  -h --help                   Show this help
     --version                Show package version
     --no-pager               Do not pipe output into a pager
     --no-legend              Do not show the headers and footers
     --no-ask-password        Do not ask for system passwords
  -H --host=[USER@]HOST       Operate on remote host
  -M --machine=CONTAINER      Operate on local container
  -p --property=NAME          Show only properties by this name
  -q --quiet                  Suppress output
  -a --all                    Show all properties, including empty ones
     --value                  When showing properties, only print the value
  -l --full                   Do not ellipsize output
     --kill-whom=WHOM         Whom to send signal to
  -s --signal=SIGNAL          Which signal to send
     --uid=USER               Specify user ID to invoke shell as
  -E --setenv=VAR[=VALUE]     Add an environment variable for shell
     --read-only              Create read-only bind mount
     --mkdir                  Create directory before bind mounting, if missing
  -n --lines=INTEGER          Number of journal entries to show
     --max-addresses=INTEGER  Number of internet addresses to show at most
  -o --output=STRING          Change journal output mode (short, short-precise,
                               short-iso, short-iso-precise, short-full,
                               short-monotonic, short-unix, short-delta,
                               json, json-pretty, json-sse, json-seq, cat,
                               verbose, export, with-unit)
     --verify=MODE            Verification mode for downloaded images (no,
                              checksum, signature)
     --force                  Download image even if already exists

See the ${man} for details.
`;
}
