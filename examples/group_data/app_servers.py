env = 'production'
greeting = 'Hello from an app server'
