#include "init/boot_assessment.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log.hpp"
#include "init/ab_slots.hpp"

namespace berth::init {

namespace {
constexpr supervisor::Millis kCheckEveryMs = 250;
}

std::string not_ready_services(supervisor::Supervisor& sup, const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) {
        supervisor::Container* c = sup.find(n);
        if (c && c->ready()) continue;
        std::string why;
        if (!c) {
            why = "no such service";
        } else {
            why = supervisor::state_name(c->state);
            if (c->alive()) why += ", not ready";
            if (!c->waiting_for.empty()) why += ", waiting for " + c->waiting_for;
            else if (!c->alive() && c->state != supervisor::State::pending && c->state != supervisor::State::starting)
                why += ", " + c->describe_exit();
            if (c->restarts) why += ", " + std::to_string(c->restarts) + " restarts";
        }
        out += (out.empty() ? "" : "; ") + n + ": " + why;
    }
    return out;
}

pid_t fork_and_run(std::function<int()> work) {
    pid_t pid = ::fork();
    if (pid < 0) return -errno;
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        int rc = 1;
        try {
            rc = work();
        } catch (...) {
        }
        ::_exit(rc);
    }
    return pid;
}

BootAssessment::BootAssessment(supervisor::EventLoop& loop, supervisor::Supervisor& sup, SysOps& sys, char slot,
                               config::UpdateConfig cfg, supervisor::Millis boot_started_ms,
                               std::function<void()> reboot, Spawn spawn)
    : loop_(loop), sup_(sup), sys_(sys), slot_(slot), cfg_(std::move(cfg)),
      deadline_(boot_started_ms + cfg_.deadline_ms), reboot_(std::move(reboot)),
      spawn_(spawn ? std::move(spawn) : Spawn(fork_and_run)) {}

void BootAssessment::start() {
    char slot = slot_;
    SysOps* sys = &sys_;
    child_ = spawn_([slot, sys] {
        EspMount esp(*sys, kEspMountDir);
        if (!esp.ok()) {
            log::error("update: slot {}: cannot read the boot entries: {}", slot, esp.error());
            return 1;
        }
        for (const auto& e : list_boot_entries(esp.dir()))
            if (e.name.slot == slot) return e.name.tries_left >= 0 ? kProbeOnTrial : kProbeCommitted;
        log::error("update: slot {} has no boot entry on the ESP", slot);
        return 1;
    });
    if (child_ < 0) {
        log::error("update: slot {}: fork for the boot entry check: {}", slot_, std::strerror(int(-child_)));
        phase_ = Phase::failed;
        return;
    }
    phase_ = Phase::probing;
    // A probe stuck on the disk cannot be waited for, and without its answer the
    // slot may be committed: say so at the deadline and leave the boot alone.
    loop_.add_timer(std::max<supervisor::Millis>(deadline_ - loop_.now(), 0), [this] {
        if (phase_ == Phase::probing)
            log::error("update: slot {}: the boot entry check has not finished by the deadline; not committing, "
                       "not rebooting", slot_);
    });
}

bool BootAssessment::child_exited(pid_t pid, int code, int status) {
    if (pid != child_ || child_ < 0) return false;
    child_ = -1;
    int rc = code == CLD_EXITED ? status : 128 + status;
    if (phase_ == Phase::probing) {
        if (rc == kProbeCommitted) {
            log::info("update: slot {} is committed; no boot assessment", slot_);
            phase_ = Phase::idle;
        } else if (rc == kProbeOnTrial) {
            std::string names;
            for (const auto& n : cfg_.commit_when_ready) names += (names.empty() ? "" : ", ") + n;
            log::info("update: slot {} is on trial: committing it when {} ready (deadline {} ms after boot)", slot_,
                      names.empty() ? "the boot is" : names + (cfg_.commit_when_ready.size() > 1 ? " are" : " is"),
                      cfg_.deadline_ms);
            phase_ = Phase::on_trial;
            check();
        } else {
            // Neither committed nor rolled back: the loader's counter decides at the next boot.
            log::error("update: slot {}: the boot entry check failed (status {}); not committing this boot", slot_, rc);
            phase_ = Phase::failed;
        }
    } else if (phase_ == Phase::blessing) {
        if (rc == 0) {
            log::info("update: slot {} committed: its boot entry no longer counts tries", slot_);
            phase_ = Phase::committed;
        } else {
            log::error("update: slot {}: committing the boot entry failed (status {})", slot_, rc);
            phase_ = Phase::failed;
        }
    }
    return true;
}

void BootAssessment::check() {
    if (phase_ != Phase::on_trial) return;
    std::string missing = not_ready_services(sup_, cfg_.commit_when_ready);
    if (missing.empty()) {
        char slot = slot_;
        SysOps* sys = &sys_;
        child_ = spawn_([slot, sys] {
            EspMount esp(*sys, kEspMountDir);
            if (!esp.ok()) {
                log::error("update: slot {}: {}", slot, esp.error());
                return 1;
            }
            std::string note;
            std::string err = bless_entry(esp.dir(), slot, &note);
            if (!err.empty()) {
                log::error("update: slot {}: {}", slot, err);
                return 1;
            }
            log::info("update: slot {}: boot entry {}", slot, note);
            return 0;
        });
        if (child_ < 0) {
            log::error("update: slot {}: fork to commit: {}", slot_, std::strerror(int(-child_)));
            phase_ = Phase::failed;
            return;
        }
        phase_ = Phase::blessing;
        return;
    }
    if (loop_.now() >= deadline_) {
        log::error("update: slot {} NOT committed: not ready within {} ms of boot: {}; rebooting so that the boot "
                   "loader falls back to the other slot",
                   slot_, cfg_.deadline_ms, missing);
        phase_ = Phase::failed;
        reboot_();
        return;
    }
    loop_.add_timer(kCheckEveryMs, [this] { check(); });
}

std::unique_ptr<BootAssessment> make_boot_assessment(supervisor::EventLoop& loop, supervisor::Supervisor& sup,
                                                     SysOps& sys, const std::map<std::string, std::string>& cmdline,
                                                     supervisor::Millis boot_started_ms,
                                                     std::function<void()> reboot) {
    auto slot = booted_slot(cmdline);
    if (!slot) return nullptr;
    auto text = sys.read_file(config::kImageConfigPath);
    std::optional<config::UpdateConfig> cfg;
    try {
        if (text) cfg = config::parse_image_config_text(*text, config::kImageConfigPath).update;
    } catch (const std::exception& e) {
        log::error("update: {}; no boot assessment", e.what());
        return nullptr;
    }
    if (!cfg) {
        log::warn("update: slot {} booted but the image has no update settings; no boot assessment", *slot);
        return nullptr;
    }
    return std::make_unique<BootAssessment>(loop, sup, sys, *slot, *cfg, boot_started_ms, std::move(reboot));
}

}  // namespace berth::init
