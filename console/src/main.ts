document.querySelector('main')!.textContent = 'Incident Autopilot';
